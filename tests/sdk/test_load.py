"""sdk.load: artifact kinds, backend choice and its report, and every refusal before loading."""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest

from ganedge import sdk
from ganedge.errors import (ArtifactError, BackendUnavailableError, BadInputError, GanEdgeError,
                            UnsafeArtifactError)
from ganedge.artifacts.manifest import Manifest


def test_auto_picks_onnxruntime_and_says_so(models, caplog):
    with caplog.at_level(logging.INFO, logger="ganedge.sdk"):
        g = sdk.load(models["dcgan"])
    info = g.backend_info
    assert (g.backend, info["backend"], info["device"], info["precision"]) == ("onnxruntime", "onnxruntime", "cpu", "fp32")
    assert info["providers"] == ["CPUExecutionProvider"] and info["threads"] >= 1
    assert "auto" in info["selected"] and info["artifact"] == str(models["dcgan"])
    assert any("onnxruntime" in r.getMessage() for r in caplog.records)
    assert g.manifest.image_shape == (3, 32, 32) and g.manifest.latent_dim == 128
    json.dumps(g.describe())  # the report is plain data
    g.close()


def test_threads_and_backend_aliases(models):
    with sdk.load(models["mlp"], backend="ort", device="cpu", threads=1) as g:
        assert g.backend_info["threads"] == 1
        assert g.sample(2).shape == (2, 16, 16, 3)


def test_run_dir_loads_with_torch(models):
    with sdk.load(models["mlp_run"]) as g:
        assert (g.backend, g.device) == ("torch", "cpu")
        assert g.manifest.arch == "mlp" and g.backend_info["weights"] == "G_ema"


@pytest.mark.parametrize("backend, kind, hint", [
    ("tensorrt", "dcgan", "ganedge export trt"),
    ("torch", "dcgan", "run director"),
    ("onnxruntime", "mlp_run", "ganedge export onnx"),
])
def test_backend_that_cannot_run_the_artifact(models, backend, kind, hint):
    with pytest.raises(BadInputError, match=hint):
        sdk.load(models[kind], backend=backend)


@pytest.mark.parametrize("kwargs, match", [
    ({"backend": "tensorflow"}, "backend 'tensorflow'"),
    ({"device": "gpu"}, "device 'gpu'"),
    ({"threads": 0}, "threads"),
    ({"frobnicate": 1}, "unknown option 'frobnicate'"),
    ({"provider": "rocm"}, "provider 'rocm'"),
])
def test_bad_load_arguments(models, kwargs, match):
    with pytest.raises(BadInputError, match=match):
        sdk.load(models["mlp"], **kwargs)


@pytest.mark.parametrize("kwargs", [dict(device="cuda"), dict(provider="cuda"), dict(provider="tensorrt"),
                                    dict(device="cuda:1", provider="tensorrt")])
def test_gpu_providers_without_onnxruntime_gpu_name_the_extra(models, kwargs):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("onnxruntime-gpu is installed here")
    with pytest.raises(BackendUnavailableError, match=r"ganedge\[gpu\]"):
        sdk.load(models["mlp"], **kwargs)


def test_engine_goes_to_tensorrt_and_fails_clearly_without_it(tmp_path):
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"\x00" * 64)
    with pytest.raises(GanEdgeError) as info:
        sdk.load(engine)
    # No sidecar, no TensorRT or no GPU here: each is a one-line GanEdgeError, never a traceback.
    assert isinstance(info.value, (BackendUnavailableError, ArtifactError))
    assert "sidecar" in str(info.value) or "TensorRT" in str(info.value) or "GPU" in str(info.value)
    with pytest.raises(BadInputError, match="GPU only"):
        sdk.load(engine, device="cpu")
    with pytest.raises(BadInputError, match="threads= applies to CPU backends"):
        sdk.load(engine, threads=2)


def test_missing_path_and_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(ArtifactError, match="does not exist"):
        sdk.load(tmp_path / "nope.onnx")
    with pytest.raises(ArtifactError, match="not a ganedge run directory"):
        sdk.load(tmp_path)


@pytest.mark.parametrize("content, match", [
    (b"", "empty"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not an ONNX model|truncated"),
    (b"just some text, definitely not a protobuf\n", "not an ONNX model|truncated"),
])
def test_refuses_files_that_are_not_onnx(tmp_path, content, match):
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    with pytest.raises(ArtifactError, match=match):
        sdk.load(path)


def test_refuses_truncated_onnx(models, tmp_path):
    data = models["dcgan"].read_bytes()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="truncated"):
        sdk.load(path)


def test_refuses_external_data_escaping_the_model_folder(tmp_path):
    from onnx import TensorProto, helper

    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.ones(4, np.float32).tobytes())
    weight = helper.make_tensor("w", TensorProto.FLOAT, [4], [0.0] * 4)
    weight.ClearField("float_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "../secret.bin"), ("offset", "0"), ("length", "16")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], [weight])
    folder = tmp_path / "model"
    folder.mkdir()
    path = folder / "model.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    with pytest.raises(UnsafeArtifactError, match="outside"):
        sdk.load(path)


def test_foreign_onnx_needs_a_manifest(foreign_onnx, tmp_path):
    with pytest.raises(ArtifactError, match="not a ganedge export"):
        sdk.load(foreign_onnx)
    manifest = Manifest(arch="foreign", latent_dim=8, image_shape=(1, 4, 4))
    as_file = tmp_path / "manifest.json"
    as_file.write_text(manifest.to_json())
    for given in (manifest, manifest.to_dict(), as_file, str(as_file)):
        with sdk.load(foreign_onnx, manifest=given) as g:
            images = g.sample(3, seed=7)
            assert images.shape == (3, 4, 4, 1) and images.dtype == np.uint8


def test_manifest_that_does_not_match_the_graph(foreign_onnx):
    with pytest.raises(ArtifactError, match="does not match the graph"):
        sdk.load(foreign_onnx, manifest=Manifest(arch="x", latent_dim=16, image_shape=(1, 4, 4)))
    with pytest.raises(ArtifactError, match="does not match the graph"):
        sdk.load(foreign_onnx, manifest=Manifest(arch="x", latent_dim=8, image_shape=(3, 4, 4)))
    with pytest.raises(ArtifactError, match="does not match the graph"):
        sdk.load(foreign_onnx, manifest=Manifest(arch="x", latent_dim=8, image_shape=(1, 4, 4), num_classes=3,
                                                 inputs=("z", "label")))


def test_unknown_suffix_is_checked_as_onnx(models, tmp_path):
    copy = tmp_path / "model.bin"
    shutil.copy(models["mlp"], copy)
    with sdk.load(copy) as g:
        assert g.backend == "onnxruntime"
