"""Finding TensorRT and the GPU: the imports and facts shared by the builder and the SDK runner.

Nothing here imports tensorrt or torch at module import; each function does, when called.
"""

from __future__ import annotations

import sys

from ganedge.errors import BackendUnavailableError, BadInputError
from ganedge.export.trt.precision import INSTALL_HINT, MIN_TRT_MAJOR, trt_major
from ganedge.export.trt.sidecar import PresentFacts


def import_tensorrt():
    """``import tensorrt`` or a BackendUnavailableError naming the extra to install."""
    try:
        import tensorrt
    except (ImportError, OSError) as exc:  # OSError: the wheel is there but libnvinfer cannot be loaded
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


__all__ = ["import_tensorrt", "import_torch_cuda", "device_index", "present_facts", "trt_major", "make_logger"]
