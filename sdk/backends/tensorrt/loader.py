"""Loading a TensorRT engine: finding TensorRT and the GPU, checking the sidecar, deserialising.

The imports and GPU facts here are shared with ``ganedge export trt`` (which sits above the SDK);
:func:`load_engine` is everything that happens before the first inference, so the runner only runs.
Before TensorRT sees the bytes, the sidecar ``<engine>.json`` is checked against the engine (sha256)
and against this GPU and TensorRT (``ganedge.artifacts.trt_sidecar``).

Nothing here imports tensorrt or torch at module import; each function does, when called.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganedge.artifacts.manifest import Manifest, sidecar_path
from ganedge.artifacts.trt_profile import BatchProfile
from ganedge.artifacts.trt_sidecar import (CompatReport, PresentFacts, check_engine_bytes, read_sidecar,
                                           require_compatible)
from ganedge.errors import ArtifactError, BackendUnavailableError, BadInputError
from ganedge.extras import install_hint, require

log = logging.getLogger("ganedge.sdk.tensorrt")

MIN_TRT_MAJOR = 10
INSTALL_HINT = install_hint("tensorrt")


def trt_major(version: str) -> int:
    """``"10.13.3.9"`` -> 10."""
    head = str(version).split(".", 1)[0]
    if not head.isdigit():
        raise BackendUnavailableError(f"cannot read the TensorRT version {version!r}; reinstall with {INSTALL_HINT}")
    return int(head)


def import_tensorrt():
    """``import tensorrt`` or a BackendUnavailableError naming the extra to install."""
    try:
        tensorrt = require("tensorrt", "the TensorRT backend")  # not installed: MissingExtraError, the one line
    except (ImportError, OSError) as exc:  # installed, but libnvinfer (or a piece of the wheel) cannot be loaded
        raise BackendUnavailableError(
            f"TensorRT is not available ({type(exc).__name__}: {exc}); install it with {INSTALL_HINT} "
            "(TensorRT 10 or 11 and an NVIDIA driver), or use the onnxruntime backend") from None
    if trt_major(tensorrt.__version__) < MIN_TRT_MAJOR:
        raise BackendUnavailableError(
            f"TensorRT {tensorrt.__version__} is too old; ganedge needs TensorRT 10 or 11 ({INSTALL_HINT})")
    return tensorrt


def import_torch_cuda():
    """torch with a usable CUDA device, or a BackendUnavailableError saying what is missing."""
    try:
        import torch
    except ImportError:
        raise BackendUnavailableError(
            "the TensorRT backend keeps its buffers in torch CUDA tensors: install torch with CUDA "
            f"(pip install torch) next to {INSTALL_HINT}") from None
    if not torch.cuda.is_available():
        raise BackendUnavailableError(
            f"no CUDA GPU is visible to torch {torch.__version__} (CPU build or no driver); TensorRT engines need an "
            "NVIDIA GPU — use the onnxruntime backend on this machine")
    return torch


def device_index(device: str) -> int:
    """``"cuda"`` -> 0, ``"cuda:1"`` -> 1; anything else is a usage error."""
    text = str(device).strip().lower()
    if text == "cuda":
        return 0
    head, _, index = text.partition(":")
    if head == "cuda" and index.isdigit():
        return int(index)
    raise BadInputError(f"TensorRT runs on CUDA devices only; device must be 'cuda' or 'cuda:N', got {device!r}")


def present_facts(trt_version: str, index: int = 0) -> PresentFacts:
    """The running TensorRT version and the GPU's name and compute capability."""
    torch = import_torch_cuda()
    count = torch.cuda.device_count()
    if index >= count:
        raise BadInputError(f"cuda:{index} does not exist; this machine has {count} CUDA device(s)")
    props = torch.cuda.get_device_properties(index)
    return PresentFacts(tensorrt_version=str(trt_version), compute_capability=f"{props.major}.{props.minor}",
                        gpu_name=str(props.name))


def make_logger(trt, verbose: bool = False):
    """A TensorRT logger that keeps errors for our messages and prints the rest only when verbose."""

    class _Logger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)
            self.errors: list[str] = []
            self.warnings: list[str] = []

        def log(self, severity, msg):  # called from C++: must never raise
            try:
                level = int(severity)  # INTERNAL_ERROR=0 < ERROR < WARNING < INFO < VERBOSE
                if level <= int(trt.Logger.ERROR):
                    self.errors.append(str(msg))
                    del self.errors[:-50]  # a long-lived runtime must not grow without bound
                elif level == int(trt.Logger.WARNING):
                    self.warnings.append(str(msg))
                    del self.warnings[:-50]
                if verbose:
                    print(f"[TensorRT] {msg}", file=sys.stderr)
            except Exception:
                pass

    return _Logger()


@dataclass
class LoadedEngine:
    """A deserialised engine and everything learned on the way; what a runner needs to run it."""

    path: Path
    manifest: Manifest
    sidecar: Manifest | None
    profile: BatchProfile | None  # from the sidecar; None: read it from the engine
    device_index: int
    compat: CompatReport
    facts: PresentFacts
    trt: Any
    torch: Any
    logger: Any
    runtime: Any
    engine: Any


def _read_engine_file(path: Path, manifest: Manifest | None) -> tuple[Manifest, Manifest | None, bytes, BatchProfile | None]:
    """(manifest, sidecar, engine bytes, profile) after the pure-Python checks of the file and its sidecar."""
    if not path.is_file():
        raise ArtifactError(f"engine file {path} does not exist; build one with `ganedge export trt MODEL.onnx -o {path.name}`")
    has_sidecar = sidecar_path(path).is_file()
    # ArtifactError when missing (and no manifest was given) or when it is not a TensorRT sidecar.
    sidecar = read_sidecar(path) if has_sidecar or manifest is None else None
    engine_bytes = path.read_bytes()
    profile = None
    if sidecar is not None:
        check_engine_bytes(sidecar, engine_bytes, path)  # empty, stale or swapped engine
        profile = BatchProfile.from_dict(sidecar.extra["profile"], where=f"{path.name}.json profile")
    elif not engine_bytes:
        raise ArtifactError(f"{path.name} is empty; rebuild it")
    return (manifest if manifest is not None else sidecar), sidecar, engine_bytes, profile


def load_engine(engine_path: str | Path, manifest: Manifest | None = None, device: str = "cuda") -> LoadedEngine:
    """Check and deserialise an engine. ``manifest`` describes the model instead of the sidecar's copy; an
    engine without a sidecar (built by trtexec, say) loads only with one, and then its compatibility is
    left to TensorRT."""
    path = Path(engine_path)
    manifest, sidecar, engine_bytes, profile = _read_engine_file(path, manifest)
    index = device_index(device)
    trt = import_tensorrt()
    torch = import_torch_cuda()
    facts = present_facts(trt.__version__, index)
    if sidecar is not None:
        compat = require_compatible(sidecar, facts, path.name)  # IncompatibleEngineError, before TensorRT
    else:
        compat = CompatReport(ok=True, warnings=(f"{path.name} has no sidecar: its GPU/TensorRT "
                                                 "compatibility is left to TensorRT's own check",))
    for warning in compat.warnings:
        log.warning(warning)
    logger = make_logger(trt)
    with torch.cuda.device(index):
        runtime = trt.Runtime(logger)
        if sidecar is not None and sidecar.extra.get("version_compatible"):
            # A version-compatible plan embeds TensorRT's lean runtime (host code); it is only run
            # when the sidecar says the engine was built that way. Load only engines you trust.
            runtime.engine_host_code_allowed = True
        engine = runtime.deserialize_cuda_engine(engine_bytes)
    if engine is None:
        detail = "; ".join(" ".join(e.split()) for e in logger.errors[-2:]) or "no message from TensorRT"
        raise ArtifactError(f"TensorRT could not deserialize {path.name} ({detail}); the file is damaged, not a "
                            f"TensorRT engine, or built for another GPU/TensorRT — rebuild it with `ganedge export trt`")
    return LoadedEngine(path=path, manifest=manifest, sidecar=sidecar, profile=profile, device_index=index,
                        compat=compat, facts=facts, trt=trt, torch=torch, logger=logger, runtime=runtime,
                        engine=engine)


__all__ = ["import_tensorrt", "import_torch_cuda", "device_index", "present_facts", "trt_major", "make_logger",
           "load_engine", "LoadedEngine", "MIN_TRT_MAJOR", "INSTALL_HINT"]
