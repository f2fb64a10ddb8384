import pytest

from ganedge.errors import ArtifactError
from ganedge.export.trt.onnx_info import inspect_onnx
from ganedge.artifacts.manifest import sha256_file


def test_dynamic_fp32_model(make_onnx):
    path = make_onnx()
    info = inspect_onnx(path)
    assert info.static_batch is None and not info.has_qdq
    assert info.input_names == ("z",) and info.manifest.latent_dim == 8
    assert info.sha256 == sha256_file(path)


def test_static_batch_qdq_and_conditional(make_onnx):
    assert inspect_onnx(make_onnx(static_batch=4)).static_batch == 4
    assert inspect_onnx(make_onnx(precision="int8", qdq=True)).has_qdq
    info = inspect_onnx(make_onnx(num_classes=3))
    assert info.input_names == ("z", "label") and info.manifest.num_classes == 3


def test_refusals(make_onnx, tmp_path):
    with pytest.raises(ArtifactError, match="does not exist"):
        inspect_onnx(tmp_path / "missing.onnx")
    (tmp_path / "empty.onnx").write_bytes(b"")
    with pytest.raises(ArtifactError, match="is empty"):
        inspect_onnx(tmp_path / "empty.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\x00\x01 definitely not protobuf \xff" * 10)
    with pytest.raises(ArtifactError, match="is not an ONNX model"):
        inspect_onnx(tmp_path / "junk.onnx")
    with pytest.raises(ArtifactError, match="carries no ganedge manifest"):
        inspect_onnx(make_onnx(manifest=False))
