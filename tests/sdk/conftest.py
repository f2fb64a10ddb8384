"""Real models for the SDK tests: tiny run directories exported to real ONNX files.

Freshly initialised generators put out nearly flat grey images (DCGAN: std ~0.01), which
would never exercise uint8 rounding or clipping; ``build_run_dir`` scales the last layer so
outputs span [-1, 1] and saturate, as a trained model's do (``write_random_run``'s ``gain``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ganedge.artifacts.manifest import ONNX_METADATA_KEY, Manifest


def export_run_dir(run_dir: Path, path: Path) -> Path:
    """The real export pipeline (torch.onnx dynamo, fp32 validation gate, manifest in metadata_props)."""
    from ganedge.export.pipeline import ExportOptions, export_onnx

    result = export_onnx(run_dir, path, ExportOptions(lint=False))
    assert [(v.precision, v.written) for v in result.variants] == [("fp32", True)], result
    return path


def build_run_dir(target: Path, arch: str, size: int, width: int | None, latent_dim: int = 128,
                  num_classes: int = 0, gain: float = 1.0) -> Path:
    """A real run directory holding a fresh, deterministic G whose last layer is scaled by ``gain``."""
    from ganedge.models.random_run import write_random_run

    return write_random_run(target, arch, size, latent_dim, num_classes, width, gain=gain)


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> dict[str, Path]:
    """Run dirs and ONNX files: mlp (16px, latent 32), dcgan (32px, width 8), cond (16px, 10 classes)."""
    root = tmp_path_factory.mktemp("sdk-models")
    out: dict[str, Path] = {}
    specs = {
        "mlp": dict(arch="mlp", size=16, latent_dim=32, width=32, gain=3.0),
        "dcgan": dict(arch="dcgan", size=32, width=8, gain=60.0),
        "cond": dict(arch="dcgan", size=16, width=8, num_classes=10, gain=60.0),
    }
    for name, spec in specs.items():
        run = build_run_dir(root / f"run-{name}", **spec)
        out[f"{name}_run"] = run
        out[name] = export_run_dir(run, root / f"{name}.onnx")
    return out


def _graph_model(root: Path, name: str, manifest: Manifest | None, nan_for_negative: bool):
    """A hand-built ONNX graph: image = reshape(f(z[:, :1]) * ones) with f = sqrt (NaN where z0 < 0)
    or tanh (always finite). Seeds with a negative first latent give an all-NaN image."""
    import onnx
    from onnx import TensorProto, helper

    c, h, w = manifest.image_shape if manifest else (1, 4, 4)
    nodes = [
        helper.make_node("Slice", ["z", "starts", "ends", "axes"], ["z0"]),  # (N, 1)
        helper.make_node("Sqrt" if nan_for_negative else "Tanh", ["z0"], ["f"]),
        helper.make_node("MatMul", ["f", "ones"], ["flat"]),  # (N, C*H*W)
        helper.make_node("Reshape", ["flat", "shape"], ["image"]),  # (N, C, H, W)
    ]
    inits = [
        helper.make_tensor("starts", TensorProto.INT64, [1], [0]),
        helper.make_tensor("ends", TensorProto.INT64, [1], [1]),
        helper.make_tensor("axes", TensorProto.INT64, [1], [1]),
        helper.make_tensor("ones", TensorProto.FLOAT, [1, c * h * w], np.linspace(-1, 1, c * h * w).tolist()),
        helper.make_tensor("shape", TensorProto.INT64, [4], [-1, c, h, w]),
    ]
    dim = manifest.latent_dim if manifest else 8
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", dim])],
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", c, h, w])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if manifest is not None:
        entry = model.metadata_props.add()
        entry.key, entry.value = ONNX_METADATA_KEY, manifest.to_json()
    path = root / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="session")
def nan_onnx(tmp_path_factory) -> Path:
    """Manifested model whose image is NaN exactly for seeds whose first latent is negative."""
    manifest = Manifest(arch="test-nan", latent_dim=8, image_shape=(1, 4, 4))
    return _graph_model(tmp_path_factory.mktemp("nan"), "nan", manifest, nan_for_negative=True)


@pytest.fixture(scope="session")
def foreign_onnx(tmp_path_factory) -> Path:
    """A valid ONNX generator-shaped graph (z: (N, 8) -> image (N, 1, 4, 4)) with no ganedge manifest."""
    return _graph_model(tmp_path_factory.mktemp("foreign"), "foreign", None, nan_for_negative=False)



@pytest.fixture(scope="session")
def onehot_onnx(tmp_path_factory) -> Path:
    """Conditional model (3 named classes) whose graph takes float class weights: classes can blend."""
    from tests.sdk.onehot import build_onehot_onnx

    return build_onehot_onnx(tmp_path_factory.mktemp("onehot"))


@pytest.fixture(scope="module")
def g(models):
    """The 32x32 RGB DCGAN export, loaded once per test module."""
    from ganedge import sdk

    with sdk.load(models["dcgan"]) as generator:
        yield generator


@pytest.fixture(scope="module")
def cond(models):
    """The 16x16 conditional (10 classes) export, loaded once per test module."""
    from ganedge import sdk

    with sdk.load(models["cond"]) as generator:
        yield generator
