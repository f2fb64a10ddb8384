"""ONNX files whose external data escapes their folder (onnx CVE-2022-25882 / CVE-2024-27318 class):
``../secret``, an absolute path, a symlink out. Each is refused by every entry point before any
loader resolves the path; the same model with its data inside the folder loads (control)."""

from __future__ import annotations

import numpy as np
import pytest

from ganedge.errors import UnsafeArtifactError

from tests.hostile.hostile_helpers import FILE_COMMANDS, one_line_error, tiny_onnx


def _relative_escape(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    return tiny_onnx(folder / "model.onnx", external="../secret.bin")


def _absolute(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    return tiny_onnx(folder / "model.onnx", external=str(tmp_path / "elsewhere" / "secret.bin"))


def _symlink_out(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    path = tiny_onnx(folder / "model.onnx", external="weights.bin")
    outside = tmp_path / "secret.bin"
    (folder / "weights.bin").rename(outside)
    (folder / "weights.bin").symlink_to(outside)  # the name is inside, the bytes are not
    return path


ESCAPES = {"location-dotdot-secret": _relative_escape, "location-absolute-path": _absolute,
           "location-symlink-out": _symlink_out}

def test_control_external_data_inside_the_folder_loads(tmp_path, good_onnx):
    from ganedge import sdk

    path = tiny_onnx(tmp_path / "model.onnx", external="weights.bin")
    with sdk.load(path, device="cpu") as g, sdk.load(good_onnx, device="cpu") as reference:
        assert np.array_equal(g.sample(4, seed=3), reference.sample(4, seed=3))


@pytest.mark.parametrize("escape", ESCAPES, ids=str)
def test_sdk_load_refuses_escaping_external_data(escape, tmp_path):
    from ganedge import sdk

    path = ESCAPES[escape](tmp_path)
    with pytest.raises(UnsafeArtifactError, match="outside the model's folder"):
        sdk.load(path, device="cpu")


@pytest.mark.parametrize("escape, command", [(e, c) for e in ESCAPES for c in FILE_COMMANDS], ids=lambda v: v)
def test_cli_refuses_escaping_external_data(cli, escape, command, good_onnx, tmp_path):
    path = ESCAPES[escape](tmp_path)
    out = tmp_path / "out"
    result = cli(*[part.format(model=path, good=good_onnx, out=out) for part in FILE_COMMANDS[command]])
    assert result.code == 2, result
    assert one_line_error(result.err) and "outside the model's folder" in result.err, result
    assert not out.exists() or not any(out.rglob("*.onnx")) and not any(out.rglob("*.engine"))
