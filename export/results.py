"""What ``ganedge export onnx`` reports: one VariantResult per precision inside an ExportResult (``--json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganedge.artifacts.manifest import Manifest


@dataclass
class VariantResult:
    precision: str
    path: Path
    requested: bool = True  # False: the fp32 base of an fp16/int8-only export, validated but not written
    required: bool = False  # asked for by name: failing to build it fails the export
    written: bool = False
    skipped: str | None = None  # why the variant was not built
    gate: Any = None  # validate.GateResult
    lint: Any = None  # lint.LintReport
    rewrites: list[str] = field(default_factory=list)
    kept_fp32: list[str] = field(default_factory=list)  # fp16: nodes the fallback kept in fp32
    fallback: list[str] = field(default_factory=list)  # fp16: what each fallback round did
    seconds: float = 0.0
    size_bytes: int | None = None
    sha256: str | None = None
    speed: Any = None  # int8: int8_speed.Int8Speed, fp32 vs int8 measured on this machine

    @property
    def failed(self) -> bool:
        """Failed its gate, or could not be built although asked for by name (not as part of "all")."""
        return (self.gate is not None and not self.gate.passed) or (self.required and self.skipped is not None)

    def to_dict(self) -> dict[str, Any]:
        return {"precision": self.precision, "path": str(self.path) if self.requested else None,
                "requested": self.requested, "written": self.written,
                "skipped": self.skipped, "passed": None if self.gate is None else self.gate.passed,
                "seconds": round(self.seconds, 3), "size_bytes": self.size_bytes, "sha256": self.sha256,
                "rewrites": self.rewrites, "kept_fp32": self.kept_fp32, "fallback": self.fallback,
                "gate": None if self.gate is None else self.gate.to_dict(),
                "lint": None if self.lint is None else self.lint.to_dict(),
                "int8_speed": None if self.speed is None else self.speed.to_dict()}


@dataclass
class ExportResult:
    source: str  # the run directory or module reference as given
    manifest: Manifest
    opset: int
    weights: str  # "G_ema"/"G" for a run; the weights file or "as built" for a module
    validated: bool
    is_run_dir: bool = True
    batch: str = "dynamic"  # or "fixed at N (why)"
    fixed_batch: int | None = None  # the graph's fixed batch size; None when dynamic
    variants: list[VariantResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not any(v.failed for v in self.variants)

    def failure_summary(self) -> str:
        parts = []
        for v in self.variants:
            if v.failed and v.gate is None:
                parts.append(f"{v.precision} could not be built ({v.skipped})")
            elif v.failed:
                loosest = v.gate.min_passing()
                key = "atol" if v.precision == "fp32" else "min_psnr"
                parts.append(f"{v.precision} failed its gate (would pass with {key}={loosest[key]:.3g})"
                             if loosest.get(key) is not None else f"{v.precision} failed its gate (NaN/Inf)")
        kept = [str(v.path) for v in self.variants if v.failed and v.written]
        if not parts:
            return "all gates passed"
        tail = f"; kept anyway: {', '.join(kept)}" if kept else "; nothing failing was written"
        return "; ".join(parts) + tail

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "run_dir": self.source if self.is_run_dir else None, "batch": self.batch,
                "fixed_batch": self.fixed_batch,
                "arch": self.manifest.arch, "opset": self.opset,
                "weights": self.weights, "validated": self.validated, "passed": self.passed,
                "seconds": round(self.seconds, 3), "manifest": self.manifest.to_dict(),
                "variants": [v.to_dict() for v in self.variants]}


# --- steps ------------------------------------------------------------------------------------
