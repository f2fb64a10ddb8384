"""TensorRT engines with a missing, foreign or lying sidecar. The sidecar checks run before
TensorRT is imported, so most of this runs on any machine; the GPU test proves that, with
TensorRT present, an engine built for another GPU is refused before deserialization."""

from __future__ import annotations

import importlib.util
import json

import pytest

from ganedge.errors import ArtifactError, GanEdgeError, IncompatibleEngineError

from tests.hostile.hostile_helpers import engine_with_sidecar, one_line_error

OTHER_GPU = {"gpu_name": "Tesla T4", "compute_capability": "7.5"}
HAS_TENSORRT = importlib.util.find_spec("tensorrt") is not None


def test_missing_sidecar_is_refused_without_tensorrt(tmp_path):
    from ganedge import sdk

    engine = engine_with_sidecar(tmp_path, sidecar=None)
    with pytest.raises(ArtifactError, match="has no sidecar model.engine.json"):
        sdk.load(engine)


@pytest.mark.parametrize("sidecar_text, message", [
    ("{not json", "not valid JSON"),
    (json.dumps({"format": "ganedge/1", "arch": "mlp", "latent_dim": 8, "image_shape": [3, 4, 4]}),
     "not a TensorRT sidecar"),
    (json.dumps([1, 2, 3]), "not a JSON object"),
    ("", "not valid JSON"),
])
def test_foreign_sidecars_are_refused(tmp_path, sidecar_text, message):
    from ganedge import sdk

    engine = engine_with_sidecar(tmp_path, sidecar=None)
    (tmp_path / "model.engine.json").write_text(sidecar_text)
    with pytest.raises(ArtifactError, match=message):
        sdk.load(engine)


def test_sidecar_naming_another_gpu_is_refused_by_the_compat_rule(tmp_path):
    """The rule the runner applies before TensorRT sees the bytes, fed from the file on disk."""
    from ganedge.artifacts.trt_sidecar import PresentFacts, read_sidecar, require_compatible

    engine = engine_with_sidecar(tmp_path, sidecar=OTHER_GPU)
    with pytest.raises(IncompatibleEngineError) as info:
        require_compatible(read_sidecar(engine), PresentFacts("10.13.3", "9.0", "NVIDIA H100 80GB HBM3"), engine.name)
    message = str(info.value)
    assert "compute 7.5" in message and "compute 9.0" in message and "ganedge export trt" in message
    assert "\n" not in message and info.value.exit_code == 2


@pytest.mark.parametrize("sidecar", [OTHER_GPU, {"tensorrt_version": "8.6.1"}], ids=["other-gpu", "other-tensorrt"])
def test_cli_refuses_a_foreign_engine_in_one_line(cli, tmp_path, sidecar):
    engine = engine_with_sidecar(tmp_path, sidecar=sidecar)
    result = cli("sample", engine, "--seeds", "0-3", "-o", tmp_path / "grid.png")
    assert result.code == 2 and one_line_error(result.err), result
    if not HAS_TENSORRT:
        assert "needs tensorrt (pip install 'ganedge[gpu]')" in result.err
    assert not (tmp_path / "grid.png").exists()


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_TENSORRT, reason="needs TensorRT")
@pytest.mark.parametrize("sidecar", [{"gpu_name": "Tesla K80", "compute_capability": "3.7"},
                                     {"tensorrt_version": "8.6.1"}], ids=["other-gpu", "other-tensorrt"])
def test_foreign_engine_is_refused_before_deserialization(tmp_path, sidecar):
    from ganedge import sdk

    # The bytes are junk: had TensorRT been asked to deserialize them, the error would be another one.
    engine = engine_with_sidecar(tmp_path, sidecar=sidecar)
    with pytest.raises(IncompatibleEngineError, match="rebuild it here"):
        sdk.load(engine)


def test_engine_errors_are_ganedge_errors_for_every_entry_point(cli, tmp_path, good_onnx):
    engine = engine_with_sidecar(tmp_path, sidecar=None)
    for args in (["verify", good_onnx, engine, "--seeds", "0-3"], ["eval", engine, "--n", "16", "--device", "cuda"],
                 ["bench", engine, "--batch-sizes", "1", "--duration", "0.05", "--no-cold-start", "--no-roofline"]):
        result = cli(*args)
        assert result.code == 2 and one_line_error(result.err) and "sidecar" in result.err, (args, result)


def test_sdk_errors_are_not_library_exceptions(tmp_path):
    """Whatever is wrong with an engine, the caller catches one type: GanEdgeError."""
    from ganedge import sdk

    engine = engine_with_sidecar(tmp_path, sidecar={"profile": {"min": 9, "opt": 1, "max": 0}})
    with pytest.raises(GanEdgeError):
        sdk.load(engine)
