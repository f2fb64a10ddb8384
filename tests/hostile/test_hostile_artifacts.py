"""Truncated, corrupt, foreign and renamed artifacts, handed to every entry point that reads one.

The promise: a GanEdgeError (ArtifactError for a bad file) from the SDK, and from the CLI exit 2
with ``error: ...`` on one line — never a traceback, never an exception type of a library we use.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from ganedge.errors import ArtifactError, GanEdgeError

from tests.hostile.hostile_helpers import FILE_COMMANDS, engine_with_sidecar, one_line_error, run_ganedge


def _truncated(good: Path, folder: Path) -> Path:
    data = good.read_bytes()
    (folder / "model.onnx").write_bytes(data[: len(data) // 2])
    return folder / "model.onnx"


def _random_bytes(good: Path, folder: Path) -> Path:
    (folder / "model.onnx").write_bytes(np.random.default_rng(7).bytes(4096))
    return folder / "model.onnx"


def _png_renamed(good: Path, folder: Path) -> Path:
    from ganedge.images import save_png

    save_png(folder / "picture.png", np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8))
    (folder / "picture.png").rename(folder / "model.onnx")
    return folder / "model.onnx"


def _empty(good: Path, folder: Path) -> Path:
    (folder / "model.onnx").write_bytes(b"")
    return folder / "model.onnx"


def _engine_renamed_to_onnx(good: Path, folder: Path) -> Path:
    engine = engine_with_sidecar(folder, sidecar={})
    engine.rename(folder / "model.onnx")
    return folder / "model.onnx"


def _onnx_renamed_to_engine(good: Path, folder: Path) -> Path:
    (folder / "model.engine").write_bytes(good.read_bytes())  # no sidecar beside it
    return folder / "model.engine"


def _engine_renamed_away_from_its_sidecar(good: Path, folder: Path) -> Path:
    engine = engine_with_sidecar(folder, sidecar={})
    engine.rename(folder / "renamed.engine")  # model.engine.json stays behind
    return folder / "renamed.engine"


def _engine_swapped_under_its_sidecar(good: Path, folder: Path) -> Path:
    engine = engine_with_sidecar(folder, sidecar={})
    engine.write_bytes(b"another build" * 64)  # the sidecar's engine_sha256 no longer matches
    return engine


def _folder_named_onnx(good: Path, folder: Path) -> Path:
    (folder / "model.onnx").mkdir()
    return folder / "model.onnx"


BROKEN_FILES = {
    "onnx-truncated-at-half": _truncated,
    "random-bytes-as-onnx": _random_bytes,
    "png-renamed-to-onnx": _png_renamed,
    "empty-onnx": _empty,
    "engine-renamed-to-onnx": _engine_renamed_to_onnx,
    "onnx-renamed-to-engine": _onnx_renamed_to_engine,
    "engine-renamed-from-its-sidecar": _engine_renamed_away_from_its_sidecar,
    "engine-swapped-under-its-sidecar": _engine_swapped_under_its_sidecar,
    "folder-named-model-onnx": _folder_named_onnx,
}


def _args(template: list[str], **values) -> list[str]:
    return [part.format(**values) for part in template]


@pytest.mark.parametrize("damage", BROKEN_FILES, ids=str)
def test_sdk_load_refuses_broken_files(damage, good_onnx, tmp_path):
    from ganedge import sdk

    path = BROKEN_FILES[damage](good_onnx, tmp_path)
    with pytest.raises(GanEdgeError) as info:
        sdk.load(path, device="cpu" if path.suffix == ".onnx" else "auto")
    message = str(info.value)
    assert "\n" not in message and path.name in message, message
    if damage.startswith(("onnx", "random", "png", "empty", "engine-renamed-to")):
        assert isinstance(info.value, ArtifactError), type(info.value)


@pytest.mark.parametrize("command", FILE_COMMANDS, ids=str)
@pytest.mark.parametrize("damage", BROKEN_FILES, ids=str)
def test_cli_refuses_broken_files_in_one_line(cli, damage, command, good_onnx, tmp_path):
    path = BROKEN_FILES[damage](good_onnx, tmp_path)
    if command == "inspect" and path.suffix == ".engine":
        pytest.skip("inspect describes engines instead of refusing them: see test_inspect_says_an_engine_has_no_sidecar")
    out = tmp_path / "out"
    result = cli(*_args(FILE_COMMANDS[command], model=path, good=good_onnx, out=out))
    assert result.code == 2, result
    assert one_line_error(result.err), result
    assert not (out / "grid.png").exists() and not (out / "model.engine").exists()
    assert not (out / "repo").exists() or not any((out / "repo").iterdir())


@pytest.mark.parametrize("damage", ["onnx-renamed-to-engine", "engine-renamed-from-its-sidecar"])
def test_inspect_says_an_engine_has_no_sidecar(cli, damage, good_onnx, tmp_path):
    path = BROKEN_FILES[damage](good_onnx, tmp_path)
    result = cli("inspect", path, "--json")
    assert result.code == 0, result
    info = json.loads(result.out)
    assert info["manifest"] is None and "no sidecar" in info["manifest_note"]


def test_inspect_flags_an_engine_that_does_not_match_its_sidecar(cli, good_onnx, tmp_path):
    path = _engine_swapped_under_its_sidecar(good_onnx, tmp_path)
    result = cli("inspect", path)
    assert result.code == 2 or "does not match" in result.out, result.out


# --- run directories ------------------------------------------------------------------------------


def _corrupt_header_length(run: Path) -> str:
    weights = run / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[:8] = struct.pack("<Q", 2**62)  # the header claims to be larger than any file
    weights.write_bytes(bytes(data))
    return "weights.safetensors"


def _corrupt_header_json(run: Path) -> str:
    weights = run / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    (length,) = struct.unpack("<Q", bytes(data[:8]))
    for i in range(8, 8 + min(length, 64)):
        data[i] = ord("#")  # the JSON header becomes garbage of the same length
    weights.write_bytes(bytes(data))
    return "weights.safetensors"


def _truncated_weights(run: Path) -> str:
    weights = run / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    return "weights.safetensors"


def _garbage_config(run: Path) -> str:
    (run / "config.json").write_text("{\"model\": {\"arch\": ")
    return "config.json"


def _foreign_config(run: Path) -> str:
    (run / "config.json").write_text(json.dumps({"model": {"arch": "transformer", "latent_dim": -3}}))
    return "config.json"


BROKEN_RUNS = {
    "safetensors-header-length-absurd": _corrupt_header_length,
    "safetensors-header-json-garbage": _corrupt_header_json,
    "safetensors-truncated-at-half": _truncated_weights,
    "config-json-truncated": _garbage_config,
    "config-json-foreign": _foreign_config,
}

RUN_COMMANDS = {
    "inspect": ["inspect", "{run}"],
    "sample": ["sample", "{run}", "--seeds", "0-3", "-o", "{out}/grid.png"],
    "export-onnx": ["export", "onnx", "{run}", "-o", "{out}/model.onnx"],
    "verify": ["verify", "{good}", "{run}", "--seeds", "0-3"],
    "eval": ["eval", "{run}", "--n", "16"],
}


@pytest.mark.parametrize("damage", BROKEN_RUNS, ids=str)
def test_sdk_load_refuses_broken_run_dirs(damage, run_copy):
    from ganedge import sdk

    name = BROKEN_RUNS[damage](run_copy)
    with pytest.raises(GanEdgeError) as info:
        with sdk.load(run_copy, device="cpu") as g:
            g.sample(1)
    assert name in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("damage, command", [(d, c) for d in BROKEN_RUNS for c in RUN_COMMANDS],
                         ids=lambda v: v)
def test_cli_refuses_broken_run_dirs_in_one_line(cli, damage, command, run_copy, good_run, tmp_path):
    BROKEN_RUNS[damage](run_copy)
    out = tmp_path / "out"
    result = cli(*_args(RUN_COMMANDS[command], run=run_copy, good=good_run, out=out))
    assert result.code == 2, result
    assert one_line_error(result.err), result
    assert not (out / "grid.png").exists() and not (out / "model.onnx").exists()


def test_resume_refuses_a_run_whose_every_checkpoint_is_damaged(cli, run_copy):
    for weights in [run_copy / "weights.safetensors", *run_copy.glob("checkpoints/step-*/weights.safetensors")]:
        _corrupt_header_json(weights.parent)
    result = cli("train", "--resume", "--steps", "4", "--threads", "1", "--quiet", "-o", run_copy)
    assert result.code == 2, result
    assert one_line_error(result.err) and "checkpoint" in result.err


@pytest.mark.parametrize("damage, command", [("onnx-truncated-at-half", "inspect"),
                                             ("png-renamed-to-onnx", "sample")])
def test_console_script_prints_one_line_without_traceback(damage, command, good_onnx, tmp_path):
    """The same promise through a real process, not just main() in this one."""
    path = BROKEN_FILES[damage](good_onnx, tmp_path)
    result = run_ganedge(*_args(FILE_COMMANDS[command], model=path, good=good_onnx, out=tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert result.stdout == ""
