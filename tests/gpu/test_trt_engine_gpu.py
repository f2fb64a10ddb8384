"""Build and run real TensorRT engines. Needs a CUDA GPU and the tensorrt package; skips cleanly otherwise.

Not run yet on real hardware (see docs/gpu.md): the GPU machine available to the project has no TensorRT.
"""

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.gpu
trt = pytest.importorskip("tensorrt", reason="needs TensorRT (pip install 'ganedge[gpu]')")

from ganedge.errors import ArtifactError, IncompatibleEngineError  # noqa: E402
from ganedge.export.trt.builder import BuildOptions, OnnxParseError, build_engine  # noqa: E402
from ganedge.images import to_uint8_reference  # noqa: E402
from ganedge.latents import latents  # noqa: E402
from ganedge.sdk.backends.base import NonFiniteOutputError  # noqa: E402
from ganedge.sdk.backends.tensorrt.runner import TensorRTRunner  # noqa: E402


def ort_run(onnx_path, z, labels=None):
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    feed = {"z": z} if labels is None else {"z": z, "label": labels}
    return session.run(["image"], feed)[0]


@pytest.fixture(scope="module")
def built(make_onnx, tmp_path_factory):
    onnx_path = make_onnx()
    engine = tmp_path_factory.mktemp("engine") / "tiny.engine"
    result = build_engine(onnx_path, engine, BuildOptions(batch="2:4:8"))
    return onnx_path, engine, result


def test_build_writes_engine_and_sidecar(built):
    onnx_path, engine, result = built
    side = json.loads((engine.parent / "tiny.engine.json").read_text())
    assert side["tensorrt_version"] == trt.__version__
    assert side["profile"] == {"min": 2, "opt": 4, "max": 8}
    assert side["engine_sha256"] == hashlib.sha256(engine.read_bytes()).hexdigest()
    assert side["latent_dim"] == 8 and side["precision"] == "fp32" and side["onnx_file"] == onnx_path.name
    assert result.engine_bytes == engine.stat().st_size


@pytest.mark.parametrize("n", [1, 2, 5, 8, 19])  # below MIN (padded), inside, above MAX (split)
def test_run_matches_onnxruntime_and_uint8_matches_reference(built, n):
    onnx_path, engine, _ = built
    z = latents(range(n), 8)
    with TensorRTRunner(engine) as runner:
        assert runner.max_batch == 8
        out = runner.run(z)
        assert out.dtype == np.float32 and out.shape == (n, 3, 4, 4)
        np.testing.assert_allclose(out, ort_run(onnx_path, z), atol=1e-4)
        np.testing.assert_array_equal(runner.run_uint8(z), to_uint8_reference(out))


def test_cuda_graphs_equal_eager(built):
    _, engine, _ = built
    z = latents(range(11), 8)
    with TensorRTRunner(engine) as eager, TensorRTRunner(engine, cuda_graphs=True) as graphed:
        for _ in range(2):  # first call captures, second replays
            np.testing.assert_array_equal(graphed.run(z), eager.run(z))
            np.testing.assert_array_equal(graphed.run_uint8(z[:3]), eager.run_uint8(z[:3]))
        assert graphed.describe()["graphs_captured"] >= 2 and "graph_failure" not in graphed.describe()


def test_conditional_model(make_onnx, tmp_path):
    onnx_path = make_onnx(num_classes=3)
    engine = tmp_path / "cond.plan"
    build_engine(onnx_path, engine, BuildOptions(batch="1:4:8"))
    z, labels = latents(range(6), 8), np.array([0, 1, 2, 2, 1, 0], np.int64)
    with TensorRTRunner(engine) as runner:
        np.testing.assert_allclose(runner.run(z, labels), ort_run(onnx_path, z, labels), atol=1e-4)


def test_qdq_model_builds_and_runs(make_onnx, tmp_path):
    onnx_path = make_onnx(precision="int8", qdq=True)
    engine = tmp_path / "int8.engine"
    build_engine(onnx_path, engine, BuildOptions(batch="1:4:8"))
    z = latents(range(4), 8)
    with TensorRTRunner(engine) as runner:
        np.testing.assert_allclose(runner.run(z), ort_run(onnx_path, z), atol=2e-2)


@pytest.mark.parametrize("cuda_graphs", [False, True])
def test_nan_output_is_reported_by_run_uint8(make_onnx, tmp_path, cuda_graphs):
    engine = tmp_path / "nan.engine"
    build_engine(make_onnx(nan=True), engine, BuildOptions(batch="1:4:8"))
    with TensorRTRunner(engine, cuda_graphs=cuda_graphs) as runner:
        assert np.isnan(runner.run(latents(range(4), 8))).any()
        with pytest.raises(NonFiniteOutputError) as info:
            runner.run_uint8(latents(range(4), 8))
        assert info.value.rows and set(info.value.rows) <= {0, 1, 2, 3}


def test_incompatible_sidecar_is_refused_before_deserializing(built, tmp_path):
    _, engine, _ = built
    copy = tmp_path / "copy.engine"
    copy.write_bytes(engine.read_bytes())
    side = json.loads((engine.parent / "tiny.engine.json").read_text())
    side["compute_capability"] = "1.0"
    (tmp_path / "copy.engine.json").write_text(json.dumps(side))
    with pytest.raises(IncompatibleEngineError, match="built for compute 1.0"):
        TensorRTRunner(copy)


def test_junk_engine_with_a_matching_sidecar_fails_deserialization(built, tmp_path):
    _, engine, _ = built
    junk = b"\x00junk engine\xff" * 100
    side = json.loads((engine.parent / "tiny.engine.json").read_text())
    side["engine_sha256"] = hashlib.sha256(junk).hexdigest()
    (tmp_path / "junk.engine").write_bytes(junk)
    (tmp_path / "junk.engine.json").write_text(json.dumps(side))
    with pytest.raises(ArtifactError, match="could not deserialize"):
        TensorRTRunner(tmp_path / "junk.engine")


def test_timing_cache_is_saved_and_reused(make_onnx, tmp_path):
    onnx_path, cache = make_onnx(), tmp_path / "trt.cache"
    first = build_engine(onnx_path, tmp_path / "a.engine", BuildOptions(batch="4", timing_cache=cache))
    assert cache.is_file() and cache.stat().st_size > 0 and "saved" in first.timing_cache
    second = build_engine(onnx_path, tmp_path / "b.engine", BuildOptions(batch="4", timing_cache=cache))
    assert second.timing_cache.startswith("loaded")


def test_parser_failure_names_the_node(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("NotARealOp", ["z"], ["image"], name="mystery", domain="ganedge.test")
    graph = helper.make_graph([node], "bad", [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 8])],
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 4, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ganedge.test", 1)])
    from ganedge.artifacts.manifest import ONNX_METADATA_KEY, Manifest

    helper.set_model_props(model, {ONNX_METADATA_KEY: Manifest(arch="mlp", latent_dim=8, image_shape=(3, 4, 4)).to_json()})
    path = tmp_path / "bad.onnx"
    onnx.save(model, str(path))
    with pytest.raises(OnnxParseError, match="NotARealOp") as info:
        build_engine(path, tmp_path / "bad.engine")
    assert "node 0" in str(info.value) and "'mystery'" in str(info.value)


def test_cli_json_is_one_object(make_onnx, tmp_path):
    result = subprocess.run([sys.executable, "-m", "ganedge", "export", "trt", str(make_onnx()), "-o",
                             str(tmp_path / "m.engine"), "--batch", "1:2:4", "--json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["manifest"]["profile"] == {"min": 1, "opt": 2, "max": 4}
