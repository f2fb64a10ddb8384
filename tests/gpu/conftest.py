"""Fixtures for the GPU-path tests: tiny but real ganedge ONNX files, and the "present" facts.

``make_onnx`` writes a genuine ONNX model with the ganedge manifest in its metadata
(z -> [Q/DQ] -> MatMul -> Tanh -> Reshape -> image), small enough to build in a second,
so the builder, sidecar and runner can be exercised without a trained model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ganedge.artifacts.manifest import ONNX_METADATA_KEY, Manifest

LATENT, SHAPE = 8, (3, 4, 4)


@pytest.fixture(scope="session")
def make_onnx(tmp_path_factory):
    """Factory: ``make_onnx(static_batch=None, precision="fp32", qdq=False, num_classes=0, manifest=True, nan=False)``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    folder = tmp_path_factory.mktemp("onnx")

    def make(static_batch: int | None = None, precision: str = "fp32", qdq: bool = False, num_classes: int = 0,
             manifest: bool = True, nan: bool = False, name: str | None = None):
        rng = np.random.default_rng(0)
        batch = static_batch if static_batch is not None else "N"
        c, h, w = SHAPE
        inits = [numpy_helper.from_array(rng.normal(0, 0.5, (LATENT, c * h * w)).astype(np.float32), "W"),
                 numpy_helper.from_array(np.array([-1, c, h, w], np.int64), "shape")]
        nodes, inputs, z = [], [helper.make_tensor_value_info("z", TensorProto.FLOAT, [batch, LATENT])], "z"
        if num_classes:
            inputs.append(helper.make_tensor_value_info("label", TensorProto.INT64, [batch]))
            inits.append(numpy_helper.from_array(rng.normal(0, 1, (num_classes, LATENT)).astype(np.float32), "E"))
            nodes += [helper.make_node("Gather", ["E", "label"], ["emb"], name="embed"),
                      helper.make_node("Add", ["z", "emb"], ["zc"], name="condition")]
            z = "zc"
        if qdq:
            inits += [numpy_helper.from_array(np.array(0.05, np.float32), "scale"),
                      numpy_helper.from_array(np.array(0, np.int8), "zero")]
            nodes += [helper.make_node("QuantizeLinear", [z, "scale", "zero"], ["zq"], name="quant"),
                      helper.make_node("DequantizeLinear", ["zq", "scale", "zero"], ["zdq"], name="dequant")]
            z = "zdq"
        nodes += [helper.make_node("MatMul", [z, "W"], ["h"], name="fc"),
                  helper.make_node("Tanh", ["h"], ["t"], name="tanh")]
        if nan:  # log of the negative half of tanh's outputs: NaN in (almost) every image
            nodes.append(helper.make_node("Log", ["t"], ["t_nan"], name="log"))
        nodes.append(helper.make_node("Reshape", ["t_nan" if nan else "t", "shape"], ["image"], name="to_image"))
        graph = helper.make_graph(nodes, "tiny_g", inputs,
                                  [helper.make_tensor_value_info("image", TensorProto.FLOAT, [batch, c, h, w])], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        if manifest:
            m = Manifest(arch="mlp", latent_dim=LATENT, image_shape=SHAPE, num_classes=num_classes,
                         precision=precision, inputs=("z", "label") if num_classes else ("z",))
            helper.set_model_props(model, {ONNX_METADATA_KEY: m.to_json()})
        onnx.checker.check_model(model)
        path = folder / (name or f"tiny-b{static_batch}-{precision}-q{int(qdq)}-c{num_classes}-m{int(manifest)}-n{int(nan)}.onnx")
        onnx.save(model, str(path))
        return path

    return make


@pytest.fixture
def sidecar_dict():
    """A plausible sidecar as `ganedge export trt` writes it (H100, TensorRT 10.13.3)."""
    m = Manifest(arch="dcgan", latent_dim=128, image_shape=(3, 32, 32), precision="fp16")
    data = m.to_dict()
    data.update(tensorrt_version="10.13.3", gpu_name="NVIDIA H100 80GB HBM3", compute_capability="9.0",
                profile={"min": 1, "opt": 64, "max": 256}, onnx_sha256="0" * 64, onnx_file="model-fp16.onnx",
                version_compatible=False, strongly_typed=False, builder_flags=["FP16"])
    return data


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    # tests/conftest.py skips (without a GPU) every item whose *keywords* contain "gpu", and pytest puts
    # the folder name into each item's keywords, so all of tests/gpu/ would be skipped on CPU machines.
    # Undo that skip for tests here that carry no real @pytest.mark.gpu. A no-op once the root conftest
    # checks item.get_closest_marker("gpu") instead.
    here = Path(__file__).parent
    for item in items:
        if item.get_closest_marker("gpu") is not None or here not in Path(str(item.path)).parents:
            continue
        item.own_markers[:] = [m for m in item.own_markers
                               if not (m.name == "skip" and "needs a CUDA GPU" in str(m.kwargs.get("reason", "")))]
