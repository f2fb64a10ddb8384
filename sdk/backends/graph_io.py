"""The manifest-against-graph check every ONNX runtime's loader makes, in runtime-neutral terms.

A loader describes the graph's inputs and outputs as :class:`GraphArg` (name, shape with None for
a dynamic dimension, numpy type or None when the type is not one a generator may have, and the type
as the runtime spells it, for messages) and :func:`check_graph_io` says whether the manifest
matches: the z input (and the label input of a conditional model) by name, float z of width
``latent_dim``, a float (n, C, H, W) output of the manifest's image shape, labels as int (n,) class
indices or float (n, K) class weights (one-hot), and whether the batch is fixed (fixed-batch graphs are split and padded by :func:`.base.run_fixed_batch`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ganedge.artifacts.manifest import Manifest
from ganedge.errors import ArtifactError

FLOAT_TYPES = (np.float32, np.float16)
INT_TYPES = (np.int64, np.int32)


@dataclass(frozen=True)
class GraphArg:
    name: str
    shape: tuple[int | None, ...]  # None: a dynamic (symbolic or unknown) dimension
    dtype: Any  # np.float32, np.float16, np.int64, np.int32, or None for any other type
    type_name: str  # as the runtime spells it ("tensor(float)", "f32"), for error messages


@dataclass(frozen=True)
class IoSpec:
    """The graph's input/output names and numpy types, checked against the manifest."""

    z_name: str
    z_type: Any
    out_name: str
    out_type: Any
    label_name: str | None = None
    label_type: Any = None
    fixed_batch: int | None = None  # the graph's static batch size; None when the batch is dynamic
    label_input: str = "index"  # "index": int (n,) class indices; "onehot": float (n, K) class weights


def _shape_text(shape: tuple[int | None, ...]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def check_graph_io(inputs: list[GraphArg], outputs: list[GraphArg], manifest: Manifest, path: Path) -> IoSpec:
    """Check the manifest against the graph's inputs and outputs; return their names and types."""
    m = manifest
    by_name_in = {arg.name: arg for arg in inputs}
    by_name_out = {arg.name: arg for arg in outputs}
    where = f"{path.name}: the manifest does not match the graph"
    wanted = list(m.inputs[:2] if m.conditional else m.inputs[:1])
    if len(wanted) != (2 if m.conditional else 1) or sorted(wanted) != sorted(by_name_in):
        raise ArtifactError(f"{where} (manifest inputs {list(m.inputs)}, num_classes {m.num_classes}; "
                            f"graph inputs {sorted(by_name_in)})")
    if m.output not in by_name_out:
        raise ArtifactError(f"{where} (manifest output {m.output!r}; graph outputs {sorted(by_name_out)})")
    z, out = by_name_in[wanted[0]], by_name_out[m.output]
    z_ok = len(z.shape) == 2 and z.shape[1] in (m.latent_dim, None)
    if z.dtype not in FLOAT_TYPES or not z_ok:
        raise ArtifactError(f"{where} (input {z.name!r} is {z.type_name} {_shape_text(z.shape)}; "
                            f"expected float (n, {m.latent_dim}))")
    static = [d for d in out.shape[1:] if d is not None]
    if len(out.shape) != 4 or (len(static) == 3 and tuple(static) != tuple(m.image_shape)) \
            or out.dtype not in FLOAT_TYPES:
        raise ArtifactError(f"{where} (output {out.name!r} is {out.type_name} {_shape_text(out.shape)}; "
                            f"expected float (n, {', '.join(map(str, m.image_shape))}))")
    batch = z.shape[0] if z.shape[0] is not None and z.shape[0] > 0 else None
    if not m.conditional:
        return IoSpec(z.name, z.dtype, out.name, out.dtype, fixed_batch=batch)
    label = by_name_in[wanted[1]]
    if label.dtype in INT_TYPES and len(label.shape) == 1:
        kind = "index"
    elif label.dtype in FLOAT_TYPES and len(label.shape) == 2 and label.shape[1] in (m.num_classes, None):
        kind = "onehot"  # class weights: whole classes one-hot, or blends of them
    else:
        raise ArtifactError(f"{where} (label input {label.name!r} is {label.type_name} {_shape_text(label.shape)}; "
                            f"expected int64 (n,) class indices or float (n, {m.num_classes}) class weights)")
    return IoSpec(z.name, z.dtype, out.name, out.dtype, label.name, label.dtype, fixed_batch=batch, label_input=kind)
