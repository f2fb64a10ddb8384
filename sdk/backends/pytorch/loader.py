"""Loading a generator for the torch backend: torch itself, the device, the precision and the module.

Everything here happens once, before the first inference; :mod:`.runner` only runs what this
returns. torch is imported when a loader function is called, never at module import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganedge.artifacts.manifest import Manifest
from ganedge.errors import BackendUnavailableError, BadInputError

TORCH_HINT = "pip install 'ganedge[train]'"
PRECISIONS = ("fp32", "bf16", "fp16")


def import_torch():
    try:
        import torch
    except ImportError:
        raise BackendUnavailableError(f"the torch backend (run directories) needs torch: {TORCH_HINT}; "
                                      "or export the run to ONNX and load the .onnx file") from None
    return torch


@dataclass
class LoadedModule:
    """A generator module ready to run, and what was decided on the way."""

    module: Any  # torch.nn.Module in eval mode on ``device``
    manifest: Manifest
    source: Path
    weights: str
    device: Any  # torch.device
    precision: str
    channels_last: bool
    torch: Any


def torch_device(torch, device: str):
    """A torch.device for "cpu", "cuda" or "cuda:N", checked against what torch can use."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise BadInputError(f"device {device!r} is not one of cpu, cuda, cuda:N") from None
    if dev.type not in ("cpu", "cuda"):
        raise BadInputError(f"device {device!r} is not one of cpu, cuda, cuda:N")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise BackendUnavailableError(f"device {device!r} requested but torch {torch.__version__} sees no GPU "
                                      "(a CPU build, or no driver); install torch with CUDA or use device='cpu'")
    return dev


def check_precision(precision: str, device_type: str, cuda_graphs: bool) -> None:
    if precision not in PRECISIONS:
        raise BadInputError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    if precision == "fp16" and device_type == "cpu":
        raise BadInputError("fp16 runs on CUDA only; on the CPU use precision='bf16' or 'fp32'")
    if cuda_graphs and device_type != "cuda":
        raise BadInputError("cuda_graphs=True needs device='cuda'")


def set_threads(torch, threads: int | None) -> None:
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise BadInputError(f"threads must be a positive integer, got {threads!r}")
    torch.set_num_threads(threads)  # process-wide in torch: only when asked for


def load_module(run_dir: str | os.PathLike, device: str = "cpu", threads: int | None = None, *,
                precision: str = "fp32", channels_last: bool = True, cuda_graphs: bool = False,
                ema: bool = True) -> LoadedModule:
    """A run directory's generator (EMA weights by default) on ``device``, channels_last where it has
    convolutions (ConvTranspose2d in NCHW takes a slower path on the CPU)."""
    torch = import_torch()
    from ganedge.artifacts.run_dir import manifest_from_run
    from ganedge.models.load import load_generator

    dev = torch_device(torch, device)
    check_precision(precision, dev.type, cuda_graphs)
    set_threads(torch, threads)
    generator, config, meta = load_generator(run_dir, ema=ema, device=str(dev))
    manifest = manifest_from_run(run_dir, config, meta, precision=precision)
    last = bool(channels_last) and any(p.dim() == 4 for p in generator.parameters())
    if last:
        generator = generator.to(memory_format=torch.channels_last)
    return LoadedModule(module=generator, manifest=manifest, source=Path(run_dir),
                        weights=str(meta.get("weights", "G_ema" if ema else "G")), device=dev,
                        precision=precision, channels_last=last, torch=torch)
