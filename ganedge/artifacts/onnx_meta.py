"""What every ganedge ONNX file agrees on: its input/output names and the manifest in its metadata.

The manifest is stored as the ``metadata_props`` entry ``ganedge`` (docs/contract.md, "Manifest").
These functions work on an ``onnx.ModelProto`` or on onnxruntime's metadata map without importing
either package.
"""

from __future__ import annotations

from typing import Mapping

from ganedge.artifacts.manifest import ONNX_METADATA_KEY, Manifest

INPUT_Z = "z"
INPUT_LABEL = "label"
OUTPUT = "image"


def io_names(num_classes: int) -> tuple[list[str], list[str]]:
    """(input names, output names) of a generator with ``num_classes`` classes (0 = unconditional)."""
    inputs = [INPUT_Z, INPUT_LABEL] if num_classes > 0 else [INPUT_Z]
    return inputs, [OUTPUT]


def set_manifest(model, manifest: Manifest) -> None:
    """Store ``manifest`` in ``model.metadata_props`` (replacing an older one)."""
    keep = [(p.key, p.value) for p in model.metadata_props if p.key != ONNX_METADATA_KEY]
    del model.metadata_props[:]
    for key, value in keep:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    entry = model.metadata_props.add()
    entry.key, entry.value = ONNX_METADATA_KEY, manifest.to_json()


def read_manifest(model, where: str = "model") -> Manifest | None:
    """The manifest stored in ``model``, None if it has none (an ONNX file ganedge did not write)."""
    return manifest_from_metadata({p.key: p.value for p in model.metadata_props}, where)


def manifest_from_metadata(metadata: Mapping[str, str], where: str = "model") -> Manifest | None:
    """The manifest in a metadata map (onnxruntime's ``custom_metadata_map``), None if absent."""
    text = metadata.get(ONNX_METADATA_KEY)
    return None if text is None else Manifest.from_json(text, where=f"{where} metadata '{ONNX_METADATA_KEY}'")


def feeds(z, labels=None) -> dict:
    """The input dict of a ganedge ONNX graph: float32 ``z`` (n, latent_dim) and int64 ``label`` (n,)."""
    import numpy as np

    inputs = {INPUT_Z: np.ascontiguousarray(z, dtype=np.float32)}
    if labels is not None:
        inputs[INPUT_LABEL] = np.ascontiguousarray(labels, dtype=np.int64)
    return inputs
