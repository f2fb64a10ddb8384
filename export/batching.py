"""A dynamic batch where the graph allows it, a fixed batch where it does not.

Some generators cannot have a dynamic batch in ONNX. The usual StyleGAN2 modulated convolution
scales the weights per sample and runs one grouped convolution with ``groups = batch``; ONNX's
``group`` is a constant, so torch.export either refuses the dynamic dimension or bakes the trace
batch into the graph. ganedge then exports at a fixed batch (1 by default, ``--fixed-batch N``) and
every runner feeds such a graph in chunks of that size, padding the last one: an image still
depends on its own seed only, whatever the request's size or neighbours.

A dynamic export is kept only if it reproduces PyTorch per seed at batch sizes other than the one
it was traced at (:func:`batch_dependence`); the validation gate then checks it in full.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ganedge.artifacts.manifest import Manifest
from ganedge.errors import ConfigError
from ganedge.latents import latents

FALLBACK_BATCH = 1  # no padding waste for single images, the common interactive request
PROBE_SIZES = (1, 3)  # neither equals the trace batch (2)
PROBE_ATOL = 1e-3  # a batch-dependent graph is off by far more; the gate later holds fp32 to 1e-4


@dataclass(frozen=True)
class BatchDecision:
    fixed: int | None  # None: dynamic
    reason: str = ""

    def describe(self) -> str:
        return "dynamic" if self.fixed is None else f"fixed at {self.fixed} ({self.reason})"


def static_batch(session) -> int | None:
    """The fixed batch size of an onnxruntime session's first input; None when it is dynamic."""
    dim = session.get_inputs()[0].shape[0]
    return dim if isinstance(dim, int) and dim > 0 else None


def static_batch_of(model) -> int | None:
    """The fixed batch size of an ``onnx.ModelProto``'s first input; None when it is dynamic."""
    dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    return dim.dim_value if dim.HasField("dim_value") and dim.dim_value > 0 else None


def run_onnx(session, z: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    """float32 (n, C, H, W) from a session with ganedge's input names, for any n (fixed-batch graphs padded)."""
    from ganedge.artifacts.onnx_meta import feeds
    from ganedge.sdk.backends.base import run_fixed_batch

    def run(zz, ll):
        return np.asarray(session.run(None, feeds(zz, ll))[0], dtype=np.float32)

    batch = static_batch(session)
    return run_fixed_batch(run, z, labels, batch) if batch else run(z, labels)


def batch_dependence(model, generator, manifest: Manifest) -> str | None:
    """Why the dynamic graph ``model`` is wrong at some batch size, or None when it matches PyTorch at each."""
    import torch

    from ganedge.artifacts.onnx_meta import feeds
    from ganedge.sdk.backends.onnxrt.loader import create_session

    session = create_session(model, threads=1).session
    for n in PROBE_SIZES:
        z = latents(list(range(n)), manifest.latent_dim)  # (n, latent_dim)
        labels = np.arange(n, dtype=np.int64) % manifest.num_classes if manifest.num_classes else None
        with torch.no_grad():
            expected = generator(torch.from_numpy(z), None if labels is None else torch.from_numpy(labels)).numpy()
        try:
            got = session.run(None, feeds(z, labels))[0]
        except Exception as exc:  # onnxruntime raises its own types for a shape that cannot work
            return f"onnxruntime fails at batch {n}: {' '.join(str(exc).split())[:160]}"
        if got.shape != expected.shape:
            return f"the graph returns {got.shape} for a batch of {n}"
        diff = float(np.max(np.abs(got - expected))) if got.size else 0.0
        if not diff <= PROBE_ATOL:
            return f"at batch {n} the graph differs from PyTorch by {diff:.3g}"
    return None


def _root_cause(exc: BaseException) -> str:
    """The innermost exception's first line, without terminal colours (the exporter wraps the real reason)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)
    return first[:200]


def export_with_batch_fallback(generator, manifest: Manifest, opset: int, fixed_batch: int | None,
                               log: Callable[[str], None]):
    """``(ModelProto, BatchDecision)``: dynamic when possible, else ``fixed_batch`` or :data:`FALLBACK_BATCH`."""
    from ganedge.export.torch_export import export_generator

    if fixed_batch:
        return export_generator(generator, manifest, opset, fixed_batch), BatchDecision(fixed_batch, "--fixed-batch")
    try:
        model = export_generator(generator, manifest, opset)
        reason = batch_dependence(model, generator, manifest)
    except ConfigError as exc:
        reason = f"a dynamic batch does not export ({_root_cause(exc)})"
    if reason is None:
        return model, BatchDecision(None)
    log(f"note: {reason}; exporting at a fixed batch of {FALLBACK_BATCH} (runners split and pad requests).")
    model = export_generator(generator, manifest, opset, FALLBACK_BATCH)
    return model, BatchDecision(FALLBACK_BATCH, reason)
