"""Real run directories and real exports for the export tests, built once per session.

The run directories come from ``ganedge.models.random_run.write_random_run`` with two settings
the export tests need: G and G_ema hold *different* weights (``ema_noise``, so --ema/--no-ema is
observable), and the last layer is scaled (``gain``) so images span [-1, 1] and saturate like a
trained model's (a fresh DCGAN puts out flat grey, which would make every precision gate trivial).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper


def build_run(root: Path, arch: str, size: int, num_classes: int = 0, width: int | None = None,
              latent_dim: int = 64, seed: int = 0, gain: float = 4.0) -> Path:
    from ganedge.models.random_run import write_random_run

    return write_random_run(root / f"run-{arch}{size}-c{num_classes}-s{seed}", arch, size, latent_dim, num_classes,
                            width, seed, gain=gain, ema_noise=0.05, step=7)


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("export-runs")
    return {
        "dcgan": build_run(root, "dcgan", 16, width=16),
        "dcgan_cond": build_run(root, "dcgan", 16, num_classes=10, width=16),
        "dcgan_other": build_run(root, "dcgan", 16, width=16, seed=1),
        "dcgan32": build_run(root, "dcgan", 32, width=8),
        "mlp_cond": build_run(root, "mlp", 16, num_classes=10, width=32),
        "resnet_cond": build_run(root, "resnet", 16, num_classes=10, width=8),
    }


def _external_model(folder, location: str, nested: bool = False):
    """A valid one-node model whose weight lives in an external file at ``location``."""
    weight = numpy_helper.from_array(np.ones((2, 2), dtype=np.float32), "w")
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "16")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])
    if nested:  # hide the tensor inside a Constant node of an If branch
        branch = helper.make_graph([helper.make_node("Constant", [], ["c"], value=weight)], "then", [],
                                   [helper.make_tensor_value_info("c", TensorProto.FLOAT, [2, 2])])
        cond = numpy_helper.from_array(np.array(True), "cond")
        nodes = [helper.make_node("If", ["cond"], ["w"], then_branch=branch, else_branch=branch),
                 helper.make_node("MatMul", ["x", "w"], ["y"])]
        graph = helper.make_graph(nodes, "g", [x], [y], initializer=[cond])
    else:
        graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g", [x], [y], initializer=[weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    path = folder / "model.onnx"
    path.write_bytes(model.SerializeToString())
    return path


@pytest.fixture
def external_model():
    """Factory: ``external_model(folder, location, nested=False)`` -> path of a model with external data."""
    return _external_model


@pytest.fixture(scope="session")
def dcgan_all(runs, tmp_path_factory):
    """``export onnx --precision all --json`` of the unconditional DCGAN: (result dict, folder)."""
    out = tmp_path_factory.mktemp("export-all")
    from ganedge.export.pipeline import ExportOptions, export_onnx

    result = export_onnx(runs["dcgan"], out / "model.onnx",
                         ExportOptions(precisions=("fp32", "fp16", "int8"), fd=False))
    assert result.passed, result.failure_summary()
    return result, out


@pytest.fixture(scope="session")
def cond_exports(runs, tmp_path_factory):
    """fp32 exports of the conditional DCGAN and the conditional MLP (with fp16 beside it)."""
    out = tmp_path_factory.mktemp("export-cond")
    from ganedge.export.pipeline import ExportOptions, export_onnx

    dcgan = export_onnx(runs["dcgan_cond"], out / "dcgan.onnx", ExportOptions())
    mlp = export_onnx(runs["mlp_cond"], out / "mlp.onnx", ExportOptions(precisions=("fp32", "fp16")))
    assert dcgan.passed and mlp.passed
    return {"dcgan": dcgan, "mlp": mlp}
