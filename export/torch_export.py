"""Step 1 of the pipeline: a PyTorch generator -> an in-memory ONNX ModelProto.

Uses torch.onnx's current exporter (``dynamo=True``): torch.export traces the module, BatchNorm
folds into the convolutions and the graph carries no Shape/Gather bookkeeping. The batch
dimension is dynamic; everything else is static, which is what TensorRT wants.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from typing import Iterator

from ganedge.artifacts.manifest import Manifest
from ganedge.artifacts.onnx_meta import io_names

# torch.export specializes dimensions of size 0 and 1, so trace with 2 and mark it dynamic.
_TRACE_BATCH = 2


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporter's chatter that is not about the user's model.

    - torch's pytree emits a FutureWarning (LeafSpec deprecation) from its own internals;
    - the exporter warns that a shared ``Dim("batch")`` is named once, which is what we want;
    - a registration logger reports torchvision ops it skips (we use none).
    Everything else (a real TracerWarning, an unsupported op) still surfaces.
    """
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    old_level = registration.level
    registration.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning, message=r".*LeafSpec.*")
            warnings.filterwarnings("ignore", category=UserWarning, message=r".*axis name: .* will not be used.*")
            yield
    finally:
        registration.setLevel(old_level)


def export_generator(generator, manifest: Manifest, opset: int, fixed_batch: int | None = None):
    """Trace ``generator`` (eval mode, on CPU) to ONNX. Returns an ``onnx.ModelProto``.

    Inputs: ``z`` float32 (batch, latent_dim) and, if conditional, ``label`` int64 (batch,);
    output ``image`` float32 (batch, C, H, W). The batch is dynamic unless ``fixed_batch`` is given
    (for graphs whose shapes depend on the batch, such as a grouped conv with ``groups = batch``).
    """
    import torch
    from torch.export import Dim

    from ganedge.errors import ConfigError

    generator = generator.eval().cpu()
    conditional = manifest.num_classes > 0
    n = fixed_batch or _TRACE_BATCH
    z = torch.zeros(n, manifest.latent_dim, dtype=torch.float32)
    args: tuple = (z, torch.zeros(n, dtype=torch.int64)) if conditional else (z,)
    dynamic_shapes = None
    if fixed_batch is None:
        batch = Dim("batch")
        dynamic_shapes = ({0: batch}, {0: batch}) if conditional else ({0: batch},)
    input_names, output_names = io_names(manifest.num_classes)
    try:
        with _quiet_exporter(), torch.no_grad():
            program = torch.onnx.export(
                generator, args, dynamo=True, opset_version=opset, input_names=input_names,
                output_names=output_names, dynamic_shapes=dynamic_shapes, optimize=True, verbose=False,
            )
    except Exception as exc:  # the exporter raises many types; the user needs the first line and the arch
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"torch.onnx could not export the {manifest.arch} generator at opset {opset} ({first}); "
            "try another --opset or run with --debug for the trace"
        ) from exc
    model = program.model_proto
    model.producer_name = "ganedge"
    from ganedge import __version__

    model.producer_version = __version__
    model.doc_string = f"ganedge {manifest.arch} generator: z -> image {list(manifest.image_shape)}"
    return model
