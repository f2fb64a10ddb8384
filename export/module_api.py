"""The Python API for generators trained elsewhere: ``save_weights`` and ``export_module``.

    from ganedge.export import export_module, save_weights
    save_weights(G, "G.safetensors")                 # in your own trusted environment, from any checkpoint
    result = export_module(G, "g.onnx", latent_dim=512, precisions=("fp32", "fp16"))

``export_module`` runs the same pipeline, gates and report as ``ganedge export onnx``.
"""

from __future__ import annotations

import copy
import os
from typing import Sequence

from ganedge.errors import BadInputError
from ganedge.fsutil import atomic_path


def save_weights(module, path: str | os.PathLike) -> None:
    """Write ``module.state_dict()`` to a safetensors file (atomically), the weights format ganedge loads.

    Convert a pickle checkpoint (``.pt``/``.pth``/``.pkl``) in an environment you trust: load it there
    with its own code, then call this on the module. Tensors that share memory are stored once each.
    """
    import torch
    from safetensors.torch import save_file

    if not isinstance(module, torch.nn.Module):
        raise BadInputError(f"save_weights needs a torch.nn.Module, got {type(module).__name__}")
    if str(path).endswith((".pt", ".pth", ".pkl", ".pickle")):
        raise BadInputError(f"{path}: weights are written as safetensors; name the file *.safetensors")
    state = {k: v.detach().cpu().contiguous().clone() for k, v in module.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp))


def export_module(module, output: str | os.PathLike, *, latent_dim: int | None = None, num_classes: int = 0,
                  output_range: tuple[float, float] = (-1.0, 1.0), precisions: Sequence[str] = ("fp32",),
                  class_names: Sequence[str] | None = None, arch: str | None = None, log=lambda _: None, **options):
    """Export a torch generator in hand to validated ONNX; returns the ExportResult (``result.passed``).

    ``module.forward(z)`` (or ``forward(z, label)`` with ``num_classes``) takes float32 (n, latent_dim)
    and returns float32 (n, C, H, W) in ``output_range``. ``options`` are ExportOptions fields (``atol``,
    ``keep_failed``, ``fixed_batch``, ``fp16_fallback``, ...). ``arch`` names the model in the manifest
    (default: its class's import path).
    """
    from ganedge.export.pipeline import ExportOptions, export_onnx, parse_precisions
    from ganedge.models.load import TorchSource
    from ganedge.models.reference import ModuleSpec, describe_module

    chosen, _ = parse_precisions(",".join(precisions))
    spec = ModuleSpec(latent_dim=latent_dim, num_classes=num_classes, output_range=tuple(output_range),
                      class_names=tuple(class_names) if class_names else None)
    name = arch or f"{type(module).__module__}.{type(module).__qualname__}"
    generator, manifest = describe_module(copy.deepcopy(module), name, spec)  # the caller's module stays as it was
    source = TorchSource(name, generator, manifest, weights="as built")
    return export_onnx(source, output, ExportOptions(precisions=chosen, **options), log=log)
