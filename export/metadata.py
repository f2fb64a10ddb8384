"""The manifest inside an ONNX file: metadata_props entry ``ganedge`` (DESIGN.md, "Manifest")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganedge.manifest import ONNX_METADATA_KEY, Manifest, sha256_file
from ganedge.train.checkpoint import WEIGHTS_FILE

from ganedge.export.torch_export import io_names


def manifest_from_run(run_dir: str | Path, config, weights_meta: dict[str, Any], precision: str = "fp32") -> Manifest:
    """The manifest of a generator exported from ``run_dir`` (``config`` is its RunConfig)."""
    model = config.model
    inputs, outputs = io_names(model.num_classes)
    step = weights_meta.get("step")
    return Manifest(
        arch=model.arch,
        latent_dim=int(model.latent_dim),
        image_shape=tuple(int(v) for v in model.image_shape),
        num_classes=int(model.num_classes),
        precision=precision,
        inputs=tuple(inputs),
        output=outputs[0],
        source_sha256=sha256_file(Path(run_dir) / WEIGHTS_FILE),
        train_step=int(step) if isinstance(step, (int, float)) else None,
        dataset=str(config.dataset),
    )


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
    for prop in model.metadata_props:
        if prop.key == ONNX_METADATA_KEY:
            return Manifest.from_json(prop.value, where=f"{where} metadata '{ONNX_METADATA_KEY}'")
    return None
