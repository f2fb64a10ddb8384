"""Step 5 of the pipeline: the validation gate. An exported model passes or is not written.

Reference: the PyTorch generator on fixed seeds, one batch per validation batch size (1, 7, 64
by default), so a dynamic-batch bug shows up at the size that has it. The candidate runs in
onnxruntime on the same latents. Gates (export/settings.py, each overridable and reported):

- fp32: max |ONNX - PyTorch| <= atol on the float output, per batch; uint8 images within
  ``max_uint8_diff`` levels; no NaN/Inf.
- fp16: PSNR on uint8 images >= min_psnr against the reference; no NaN/Inf.
- int8: the same PSNR rule, and FD no worse than fp32's by more than ``max_fd_increase``
  (when FD can be measured; the report says when it could not).

The report reads like Optimum's (``-[✓] all values close (atol: 0.0001)``) but a failure fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ganedge.images import to_uint8_nhwc
from ganedge.latents import latents
from ganedge.artifacts.manifest import Manifest

from ganedge.export.compare import ErrorStats, ImageStats, error_stats, format_db, image_stats, json_safe, per_image_max_abs
from ganedge.export.settings import ExportSettings, Gates

PASS, FAIL, SKIP = "-[✓]", "-[x]", "-[-]"


@dataclass
class Reference:
    """PyTorch outputs on the validation seeds, one entry per validation batch."""

    seeds: list[list[int]]
    z: list[np.ndarray]  # (n_b, latent_dim) each
    labels: list[np.ndarray | None]  # (n_b,) int64 each, None if unconditional
    images: list[np.ndarray]  # (n_b, C, H, W) float32 each
    output_range: tuple[float, float] = (-1.0, 1.0)  # the model's, for the uint8 comparison
    against: str = "PyTorch"  # what produced the images, for the report

    @property
    def all_seeds(self) -> list[int]:
        return [s for batch in self.seeds for s in batch]

    @property
    def all_images(self) -> np.ndarray:
        return np.concatenate(self.images)


def labels_for(seeds, num_classes: int) -> np.ndarray | None:
    """Validation/verify labels: seed mod num_classes, so every class appears once there are enough seeds."""
    if num_classes <= 0:
        return None
    return (np.asarray(seeds, dtype=np.uint64) % np.uint64(num_classes)).astype(np.int64)


def reference_outputs(generator, manifest: Manifest, settings: ExportSettings) -> Reference:
    """Run the PyTorch generator on the validation seeds (CPU, eval mode, no grad)."""
    import torch

    ref = Reference(seeds=[], z=[], labels=[], images=[], output_range=tuple(manifest.output_range))
    with torch.no_grad():
        for seeds in settings.validation_seeds():
            z = latents(seeds, manifest.latent_dim)  # (n, latent_dim)
            labels = labels_for(seeds, manifest.num_classes)
            out = generator(torch.from_numpy(z), None if labels is None else torch.from_numpy(labels))
            ref.seeds.append(list(seeds))
            ref.z.append(z)
            ref.labels.append(labels)
            ref.images.append(out.detach().cpu().numpy().astype(np.float32))  # (n, C, H, W)
    return ref


@dataclass
class Check:
    ok: bool | None  # None: not run (e.g. FD not measurable), does not fail the gate
    text: str

    def line(self) -> str:
        return f"\t{PASS if self.ok else SKIP if self.ok is None else FAIL} {self.text}"


@dataclass
class GateResult:
    precision: str
    against: str  # what the candidate was compared with
    tolerances: dict[str, float]
    stats: ErrorStats
    images: ImageStats
    batches: list[dict[str, Any]]
    worst: list[dict[str, Any]]
    checks: list[Check] = field(default_factory=list)
    fd: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        return all(c.ok is not False for c in self.checks)

    def min_passing(self) -> dict[str, float | None]:
        """The loosest setting of each tolerance that this result would still have passed."""
        data: dict[str, float | None] = {"atol": self.stats.max_abs, "max_uint8_diff": float(self.images.max_level),
                                         "min_psnr": self.images.psnr_db}
        if self.fd and self.fd.get("increase") is not None:
            data["max_fd_increase"] = self.fd["increase"]
        return data

    def report_lines(self, name: str) -> list[str]:
        seeds = [s for b in self.batches for s in (b["first_seed"], b["last_seed"])]
        sizes = ", ".join(str(b["batch_size"]) for b in self.batches)
        lines = [f"Validating {name} ({self.precision}) against {self.against} on seeds {min(seeds)}-{max(seeds)} "
                 f"(batch sizes {sizes}):"]
        lines += [c.line() for c in self.checks]
        s = self.stats
        lines.append(f"\t  abs error: max {s.max_abs:.3g} at {s.max_abs_at}, mean {s.mean_abs:.3g}, "
                     f"median {s.median_abs:.3g}; rel error: max {s.max_rel:.3g} at {s.max_rel_at}, "
                     f"mean {s.mean_rel:.3g}")
        if math.isinf(self.images.psnr_db):
            lines.append("\t  uint8 images: identical")
        else:
            lines.append(f"\t  uint8 images: PSNR {format_db(self.images.psnr_db)}, max {self.images.max_level} "
                         f"level(s); worst seed {self.worst[0]['seed']} ({format_db(self.worst[0]['psnr_db'])})")
        if not self.passed:
            loosest = self.min_passing()
            hints = []
            if "atol" in self.tolerances:
                hints.append(f"--atol {_ceil_sig(loosest['atol'])}")
            if "min_psnr" in self.tolerances and loosest["min_psnr"] is not None:
                hints.append(f"--min-psnr {math.floor(loosest['min_psnr'] * 100) / 100:g}")
            if "max_fd_increase" in loosest and "max_fd_increase" in self.tolerances:
                hints.append(f"--max-fd-increase {_ceil_sig(loosest['max_fd_increase'])}")
            lines.append(f"\t  smallest tolerance that would pass: {', '.join(hints) or 'none (NaN/Inf)'}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return json_safe({
            "precision": self.precision,
            "against": self.against,
            "passed": self.passed,
            "tolerances": self.tolerances,
            "checks": [{"ok": c.ok, "text": c.text} for c in self.checks],
            "error": self.stats.to_dict(),
            "psnr_db": self.images.psnr_db,
            "identical_images": math.isinf(self.images.psnr_db),
            "max_uint8_diff": self.images.max_level,
            "batches": self.batches,
            "worst_seeds": self.worst,
            "fd": self.fd,
            "min_passing": self.min_passing(),
        })


def validate_session(session, reference: Reference, precision: str, gates: Gates,
                     against: str = "PyTorch") -> GateResult:
    """Run ``session`` (onnxruntime) on the reference latents and grade it against ``gates``."""
    from ganedge.export.batching import run_onnx

    outputs, batches = [], []
    for seeds, z, labels, expected in zip(reference.seeds, reference.z, reference.labels, reference.images):
        got = run_onnx(session, z, labels)  # (n, C, H, W)
        if got.shape != expected.shape:
            from ganedge.errors import ValidationError

            raise ValidationError(f"the {precision} model returned shape {got.shape} for a batch of {len(seeds)}; "
                                  f"PyTorch returned {expected.shape}")
        outputs.append(got)
        batches.append({"batch_size": len(seeds), "first_seed": seeds[0], "last_seed": seeds[-1],
                        "max_abs": float(error_stats(expected, got).max_abs)})
    candidate, expected_all = np.concatenate(outputs), reference.all_images
    stats = error_stats(expected_all, candidate)
    images = image_stats(to_uint8_nhwc(expected_all, output_range=reference.output_range),
                         to_uint8_nhwc(np.nan_to_num(candidate), output_range=reference.output_range))
    worst = images.worst(reference.all_seeds, k=5, per_image_max_abs=per_image_max_abs(expected_all, candidate))
    result = GateResult(precision=precision, against=against, tolerances={}, stats=stats, images=images,
                        batches=batches, worst=worst)
    _grade(result, gates)
    return result


def worse_of(a: GateResult, b: GateResult) -> GateResult:
    """The result that fails, or else the one with the lower PSNR (both graded on the same reference)."""
    if a.passed != b.passed:
        return b if a.passed else a
    return a if a.images.psnr_db <= b.images.psnr_db else b


def _grade(result: GateResult, gates: Gates) -> None:
    checks = result.checks
    if result.precision == "fp32":
        result.tolerances.update(atol=gates.atol, max_uint8_diff=gates.max_uint8_diff)
        for batch in result.batches:
            ok = batch["max_abs"] <= gates.atol
            batch["ok"] = ok
            shape = f"batch {batch['batch_size']}"
            checks.append(Check(ok, f"{shape}: all values close (atol: {gates.atol:g}), max diff: {batch['max_abs']:.3g}"
                                if ok else f"{shape}: values not close enough, max diff: {batch['max_abs']:.3g} "
                                           f"(atol: {gates.atol:g})"))
        level = result.images.max_level
        checks.append(Check(level <= gates.max_uint8_diff,
                            f"uint8 images differ by at most {level} level(s) (allowed: {gates.max_uint8_diff})"))
    else:
        min_psnr = gates.min_psnr(result.precision)
        result.tolerances.update(min_psnr=min_psnr)
        value = result.images.psnr_db
        ok = value >= min_psnr
        checks.append(Check(ok, f"PSNR {format_db(value)} {'>=' if ok else '<'} {min_psnr:g} dB against "
                                f"{result.against} on uint8 images (worst image: seed {result.worst[0]['seed']}, "
                                f"{format_db(result.worst[0]['psnr_db'])})"))
    bad = result.stats.nonfinite
    checks.append(Check(bad == 0, "no NaN/Inf in the output" if bad == 0 else f"{bad} NaN/Inf values in the output"))


def grade_fd(result: GateResult, fd: dict[str, Any], gates: Gates) -> None:
    """Add the int8 FD check to ``result`` from ``quality.fd_comparison``'s answer."""
    result.fd = fd
    result.tolerances["max_fd_increase"] = gates.max_fd_increase
    if fd.get("increase") is None:
        result.checks.append(Check(None, f"FD not measured: {fd.get('note', 'unknown reason')}"))
        return
    ok = fd["increase"] <= gates.max_fd_increase
    result.checks.append(Check(ok, f"FD {fd['fd']:.4g} vs fp32 {fd['fd_reference']:.4g} "
                                   f"({fd['increase']:+.1%} {'<=' if ok else '>'} +{gates.max_fd_increase:.0%})"))


def _ceil_sig(value: float | None, digits: int = 2) -> str:
    """Round up to ``digits`` significant digits, so the printed tolerance really passes."""
    if value is None or not math.isfinite(value):
        return "inf"
    if value <= 0:
        return "0"
    exponent = math.floor(math.log10(value)) - digits + 1
    scaled = math.ceil(value / 10.0**exponent * (1 - 1e-12))
    return f"{scaled * 10.0**exponent:.{digits}g}"
