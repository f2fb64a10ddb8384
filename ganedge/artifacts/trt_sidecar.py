"""The ``<engine>.json`` sidecar and the rule for when an engine may run here (pure Python).

The sidecar is the ONNX's manifest (``precision`` included) plus the facts of the build
(docs/contract.md, "TensorRT engines and sidecars"): the required ``tensorrt_version``,
``compute_capability`` and ``profile`` {min, opt, max}, then ``gpu_name``, ``onnx_sha256``,
``onnx_file``, ``engine_sha256``, ``version_compatible``, ``strongly_typed``, ``builder_flags``,
``tf32``, ``engine_io``, ``build_seconds`` and ``built_by`` (written by ``ganedge.export.trt.builder``).

Compatibility rule (checked before TensorRT ever sees the bytes):
  * compute capability: must equal the GPU's (an engine holds kernels for one SM version);
  * TensorRT version: must equal the running major.minor.patch, unless the engine was built
    ``--version-compatible``, in which case any runtime at least as new as the builder works
    (TensorRT's own rule: 10.x VC engines run on 11.x, never the other way round);
  * GPU name: a different model of the same architecture only gives a warning (TensorRT
    allows it; tactics were timed on the other model, so speed may differ).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganedge.errors import ArtifactError, IncompatibleEngineError
from ganedge.fsutil import write_text_atomic
from ganedge.artifacts.manifest import Manifest, sidecar_path

REQUIRED_FIELDS = ("tensorrt_version", "compute_capability", "profile")
#: File suffixes that mark a TensorRT engine; ``sdk.load`` picks the TensorRT backend by them.
ENGINE_SUFFIXES = (".engine", ".plan", ".trt")


@dataclass(frozen=True)
class PresentFacts:
    """What is present at load time: the running TensorRT and the chosen GPU."""

    tensorrt_version: str
    compute_capability: str  # "9.0"
    gpu_name: str | None = None


@dataclass(frozen=True)
class CompatReport:
    ok: bool
    message: str = ""  # one line saying what differs and what to do; empty when ok
    warnings: tuple[str, ...] = ()


def parse_version(version: str) -> tuple[int, ...]:
    """``"10.13.3.9"`` -> (10, 13, 3, 9); stops at the first part that is not a number ("11.0.0rc1" -> (11, 0))."""
    numbers: list[int] = []
    for part in str(version).split("."):
        match = re.fullmatch(r"\d+", part)
        if not match:
            break
        numbers.append(int(part))
    return tuple(numbers)


def _release(version: str) -> tuple[int, int, int]:
    v = parse_version(version) + (0, 0, 0)
    return v[0], v[1], v[2]


def normalize_cc(value: Any) -> str:
    """``(9, 0)``, ``[9, 0]``, ``"9.0"``, ``9.0`` or ``"sm_90"`` -> ``"9.0"``."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return f"{int(value[0])}.{int(value[1])}"
    text = str(value).strip().lower()
    match = re.fullmatch(r"sm_?(\d)(\d)", text)
    if match:
        return f"{match.group(1)}.{match.group(2)}"
    match = re.fullmatch(r"(\d+)\.(\d+)", text)
    if not match:
        raise ArtifactError(f"compute capability {value!r} is not of the form MAJOR.MINOR")
    return f"{int(match.group(1))}.{int(match.group(2))}"


def check_compat(sidecar: Manifest | dict[str, Any], present: PresentFacts, engine_name: str = "the engine",
                 onnx_hint: str | None = None) -> CompatReport:
    """Can an engine with this sidecar run on ``present``? Pure: no TensorRT, no GPU needed."""
    facts = sidecar.extra if isinstance(sidecar, Manifest) else sidecar
    missing = [k for k in ("tensorrt_version", "compute_capability") if not facts.get(k)]
    if missing:
        raise ArtifactError(f"{engine_name}'s sidecar lacks {', '.join(missing)}; rebuild it with `ganedge export trt`")
    built_trt, built_cc = str(facts["tensorrt_version"]), normalize_cc(facts["compute_capability"])
    here_trt, here_cc = str(present.tensorrt_version), normalize_cc(present.compute_capability)
    version_compatible = bool(facts.get("version_compatible", False))

    cc_ok = built_cc == here_cc
    if version_compatible:
        trt_ok = _release(here_trt) >= _release(built_trt)
    else:
        trt_ok = _release(here_trt) == _release(built_trt)

    warnings: list[str] = []
    built_gpu = facts.get("gpu_name")
    if cc_ok and built_gpu and present.gpu_name and built_gpu != present.gpu_name:
        warnings.append(f"{engine_name} was built on {built_gpu}, this GPU is {present.gpu_name} "
                        "(same architecture, so it runs; rebuild here for the best tactics)")
    if cc_ok and trt_ok:
        return CompatReport(ok=True, warnings=tuple(warnings))

    vc_note = " (version-compatible: runs on this TensorRT or newer)" if version_compatible else ""
    source = onnx_hint or facts.get("onnx_file") or "MODEL.onnx"
    message = (f"{engine_name} was built for compute {built_cc} with TensorRT {built_trt}{vc_note}; "
               f"this GPU is compute {here_cc} with TensorRT {here_trt} — rebuild it here with "
               f"`ganedge export trt {source} -o {engine_name}`")
    if cc_ok and not trt_ok and not version_compatible:
        message += " (or build with --version-compatible to run on newer TensorRT releases)"
    return CompatReport(ok=False, message=message, warnings=tuple(warnings))


def require_compatible(sidecar: Manifest | dict[str, Any], present: PresentFacts, engine_name: str = "the engine") -> CompatReport:
    report = check_compat(sidecar, present, engine_name)
    if not report.ok:
        raise IncompatibleEngineError(report.message)
    return report


def make_sidecar(onnx_manifest: Manifest, **build_facts: Any) -> Manifest:
    """The ONNX's manifest plus the build's facts (``tensorrt_version``, ``compute_capability``, ...)."""
    missing = [k for k in REQUIRED_FIELDS if k not in build_facts]
    assert not missing, f"make_sidecar needs {missing}"
    extra = {**onnx_manifest.extra, **build_facts}
    return onnx_manifest.replace(extra=extra)


def write_sidecar(engine_path: str | Path, manifest: Manifest) -> Path:
    path = sidecar_path(engine_path)
    write_text_atomic(path, manifest.to_json(indent=2) + "\n")
    return path


def read_sidecar(engine_path: str | Path) -> Manifest:
    """The manifest beside an engine, with the TensorRT facts checked to be present."""
    engine_path = Path(engine_path)
    path = sidecar_path(engine_path)
    if not path.is_file():
        raise ArtifactError(
            f"{engine_path.name} has no sidecar {path.name}; ganedge needs it to know the model and the GPU/TensorRT "
            f"it was built for — rebuild the engine with `ganedge export trt MODEL.onnx -o {engine_path.name}`")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"cannot read {path}: {exc}") from None
    manifest = Manifest.from_json(text, where=str(path))
    missing = [k for k in REQUIRED_FIELDS if k not in manifest.extra]
    if missing:
        raise ArtifactError(f"{path} is not a TensorRT sidecar (lacks {', '.join(missing)}); "
                            "rebuild the engine with `ganedge export trt`")
    return manifest


def check_engine_bytes(manifest: Manifest, engine_bytes: bytes, engine_path: str | Path) -> None:
    """Refuse an engine that is empty or is not the one its sidecar describes (stale or swapped files)."""
    name = Path(engine_path).name
    if not engine_bytes:
        raise ArtifactError(f"{name} is empty; rebuild it with `ganedge export trt`")
    expected = manifest.extra.get("engine_sha256")
    if expected and hashlib.sha256(engine_bytes).hexdigest() != expected:
        raise ArtifactError(f"{name} does not match its sidecar {sidecar_path(name).name} (sha256 differs): the engine "
                            "was replaced or the sidecar belongs to another build; rebuild with `ganedge export trt`")


def sidecar_summary(manifest: Manifest) -> dict[str, Any]:
    """The build facts alone, for ``describe()`` and logs."""
    keys = ("tensorrt_version", "gpu_name", "compute_capability", "profile", "precision", "version_compatible",
            "strongly_typed", "builder_flags", "onnx_sha256")
    data = {**manifest.to_dict()}
    return {k: data[k] for k in keys if k in data}


__all__ = ["PresentFacts", "CompatReport", "check_compat", "require_compatible", "make_sidecar", "write_sidecar",
           "read_sidecar", "check_engine_bytes", "parse_version", "normalize_cc", "sidecar_summary"]
