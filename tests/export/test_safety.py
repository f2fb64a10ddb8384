"""check_onnx_file: bad files are named clearly, external data may not leave its folder."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import onnx
import pytest

from ganedge.errors import ArtifactError, UnsafeArtifactError
from ganedge.artifacts.onnx_safety import check_onnx_file


def test_our_export_passes(dcgan_all):
    _, folder = dcgan_all
    summary = check_onnx_file(folder / "model.onnx")
    assert summary.self_contained and summary.opsets[""] == 20 and summary.ir_version >= 8


def test_missing_file(tmp_path):
    with pytest.raises(ArtifactError, match="does not exist"):
        check_onnx_file(tmp_path / "nope.onnx")


def test_empty_file(tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"")
    with pytest.raises(ArtifactError, match="empty"):
        check_onnx_file(tmp_path / "m.onnx")


def test_truncated_file(dcgan_all, tmp_path):
    _, folder = dcgan_all
    data = (folder / "model.onnx").read_bytes()
    (tmp_path / "m.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="truncated"):
        check_onnx_file(tmp_path / "m.onnx")


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n" + bytes(64), b"hello, I am a text file\n", b"\x08\x07"])
def test_not_onnx(tmp_path, content):
    (tmp_path / "m.onnx").write_bytes(content)
    with pytest.raises(ArtifactError, match="not an ONNX model"):
        check_onnx_file(tmp_path / "m.onnx")


@pytest.mark.parametrize("head, named", [(b"\x80\x04\x95", "pickle"), (b"PK\x03\x04", "zip archive"),
                                         (b"\x89PNG\r\n\x1a\n", "PNG image")])
def test_common_wrong_files_are_named(tmp_path, head, named):
    (tmp_path / "m.onnx").write_bytes(head + bytes(64))
    with pytest.raises(ArtifactError, match=named):
        check_onnx_file(tmp_path / "m.onnx")


def test_folder_is_not_a_file(tmp_path):
    with pytest.raises(ArtifactError, match="not a file"):
        check_onnx_file(tmp_path)


@pytest.mark.parametrize("location", ["../secret.bin", "/etc/passwd", "sub/../../secret.bin", "..\\secret.bin"])
def test_external_data_outside_the_folder_is_refused(tmp_path, location, external_model):
    folder = tmp_path / "models"
    folder.mkdir()
    (tmp_path / "secret.bin").write_bytes(bytes(16))
    with pytest.raises(UnsafeArtifactError, match="outside the model's folder"):
        check_onnx_file(external_model(folder, location))


def test_external_data_in_a_subgraph_is_checked_too(tmp_path, external_model):
    with pytest.raises(UnsafeArtifactError):
        check_onnx_file(external_model(tmp_path, "../../etc/passwd", nested=True))


def test_symlink_out_of_the_folder_is_refused(tmp_path, external_model):
    folder = tmp_path / "models"
    folder.mkdir()
    (tmp_path / "secret.bin").write_bytes(bytes(16))
    os.symlink(tmp_path / "secret.bin", folder / "weights.bin")
    with pytest.raises(UnsafeArtifactError, match="resolves to"):
        check_onnx_file(external_model(folder, "weights.bin"))


def test_external_data_inside_the_folder_is_fine_and_loads(tmp_path, external_model):
    (tmp_path / "weights.bin").write_bytes(np.ones((2, 2), dtype=np.float32).tobytes())
    path = external_model(tmp_path, "weights.bin")
    summary = check_onnx_file(path)
    assert not summary.self_contained and summary.external_data[0].location == "weights.bin"
    onnx.checker.check_model(str(path))  # the file we accepted is a valid model


def test_missing_external_file(tmp_path, external_model):
    with pytest.raises(ArtifactError, match="missing"):
        check_onnx_file(external_model(tmp_path, "weights.bin"))


def test_check_needs_neither_onnx_nor_protobuf(dcgan_all):
    _, folder = dcgan_all
    code = (f"import sys; from ganedge.artifacts.onnx_safety import check_onnx_file; check_onnx_file({str(folder / 'model.onnx')!r}); "
            "print(','.join(m for m in ('onnx', 'google.protobuf', 'onnxruntime', 'torch') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
