"""Pickles that run code when loaded (their ``__reduce__`` creates a sentinel file), handed to every
entry point that takes a path: as the model itself (.pt, .pth, .pkl), as a run directory's weights
or optimizer file, as a dataset, as Inception weights. Each is refused with a clear error, and the
sentinel never appears: nothing in ganedge unpickles a user's file."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ganedge.errors import GanEdgeError

from tests.hostile.hostile_helpers import Sentinel, evil_pickle, one_line_error, pickle_is_live

SUFFIXES = (".pt", ".pth", ".pkl")

MODEL_COMMANDS = {
    "inspect": ["inspect", "{model}"],
    "sample": ["sample", "{model}", "--seeds", "0-3", "-o", "{out}/grid.png"],
    "verify-as-b": ["verify", "{good}", "{model}", "--seeds", "0-3"],
    "verify-as-a": ["verify", "{model}", "{good}", "--seeds", "0-3"],
    "eval": ["eval", "{model}", "--n", "16"],
    "export-onnx": ["export", "onnx", "{model}", "-o", "{out}/model.onnx"],
    "export-trt": ["export", "trt", "{model}", "-o", "{out}/model.engine"],
    "export-triton": ["export", "triton", "{model}", "-o", "{out}/repo"],
    "bench": ["bench", "{model}", "--batch-sizes", "1", "--duration", "0.05", "--no-cold-start", "--no-roofline"],
}

RUN_COMMANDS = {
    "inspect": ["inspect", "{run}"],
    "sample": ["sample", "{run}", "--seeds", "0-3", "-o", "{out}/grid.png"],
    "verify": ["verify", "{good}", "{run}", "--seeds", "0-3"],
    "eval": ["eval", "{run}", "--n", "16"],
    "export-onnx": ["export", "onnx", "{run}", "-o", "{out}/model.onnx"],
}


def _fill(template, **values):
    return [part.format(**values) for part in template]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_control_the_bait_is_live(suffix, tmp_path):
    sentinel = tmp_path / "PWNED"
    assert pickle_is_live(evil_pickle(tmp_path / f"evil{suffix}", sentinel), sentinel)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_sdk_load_refuses_a_pickle(suffix, tmp_path):
    from ganedge import sdk

    sentinel = tmp_path / "PWNED"
    evil = evil_pickle(tmp_path / f"model{suffix}", sentinel)
    for backend in ("auto", "onnxruntime", "torch"):
        with pytest.raises(GanEdgeError):
            sdk.load(evil, backend=backend, device="cpu")
    assert not sentinel.exists()


@pytest.mark.parametrize("command", MODEL_COMMANDS, ids=str)
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_cli_refuses_a_pickle_as_the_model(cli, suffix, command, good_onnx, tmp_path):
    sentinel = tmp_path / "PWNED"
    evil = evil_pickle(tmp_path / f"model{suffix}", sentinel)
    out = tmp_path / "out"
    result = cli(*_fill(MODEL_COMMANDS[command], model=evil, good=good_onnx, out=out))
    assert result.code == 2, result
    assert one_line_error(result.err), result
    assert not sentinel.exists(), "a pickle was executed"


def _weights_replaced(run: Path, sentinel: Path) -> None:
    evil_pickle(run / "weights.safetensors", sentinel, kind="torch")  # torch.save bytes under the expected name


def _weights_as_pt(run: Path, sentinel: Path) -> None:
    (run / "weights.safetensors").unlink()
    evil_pickle(run / "weights.pt", sentinel)  # the pickle a StyleGAN-style tool would load instead


RUN_PLACEMENTS = {"weights-safetensors-is-a-pickle": _weights_replaced, "weights-pt-instead": _weights_as_pt}


@pytest.mark.parametrize("placement", RUN_PLACEMENTS, ids=str)
def test_sdk_load_of_a_run_with_a_pickle_for_weights(placement, run_copy, tmp_path):
    from ganedge import sdk

    sentinel = tmp_path / "PWNED"
    RUN_PLACEMENTS[placement](run_copy, sentinel)
    with pytest.raises(GanEdgeError, match="weights.safetensors"):
        sdk.load(run_copy, device="cpu")
    assert not sentinel.exists()


@pytest.mark.parametrize("command", RUN_COMMANDS, ids=str)
@pytest.mark.parametrize("placement", RUN_PLACEMENTS, ids=str)
def test_cli_refuses_a_run_with_a_pickle_for_weights(cli, placement, command, run_copy, good_run, tmp_path):
    sentinel = tmp_path / "PWNED"
    RUN_PLACEMENTS[placement](run_copy, sentinel)
    result = cli(*_fill(RUN_COMMANDS[command], run=run_copy, good=good_run, out=tmp_path / "out"))
    if (placement, command) == ("weights-pt-instead", "inspect"):
        # inspect describes what is there: the config, and no parameter counts (the .pt is not read)
        assert result.code == 0 and "tensor elements" not in result.out, result
    else:
        assert result.code == 2 and one_line_error(result.err), result
    assert not sentinel.exists(), "a pickle was executed"


@pytest.mark.parametrize("file", ["optimizer", "weights"])
def test_resume_refuses_a_checkpoint_holding_a_pickle(cli, file, run_copy, tmp_path):
    """``train --resume`` on a run whose every copy of the optimizer (or weights) file is a pickle,
    as torch.save would write it; with the safetensors file gone, a .pt beside it is not picked up."""
    sentinel = tmp_path / "PWNED"
    for folder in [run_copy, *run_copy.glob("checkpoints/step-*")]:
        evil_pickle(folder / f"{file}.safetensors", sentinel, kind="torch")
        shutil.copyfile(folder / f"{file}.safetensors", folder / f"{file}.pt")
    result = cli("train", "--resume", "--steps", "4", "--threads", "1", "--quiet", "-o", run_copy)
    assert result.code == 2, result
    assert one_line_error(result.err) and "checkpoint" in result.err, result
    assert not sentinel.exists(), "a pickle was executed"


def test_train_refuses_a_pickled_dataset(cli, tmp_path):
    sentinel = tmp_path / "PWNED"
    evil = evil_pickle(tmp_path / "data.pkl", sentinel)
    npz = tmp_path / "data.npz"
    objects = np.empty(2, dtype=object)
    objects[0], objects[1] = Sentinel(sentinel), Sentinel(sentinel)
    np.savez(npz, images=objects)  # np.load(allow_pickle=True) would run it
    for dataset in (evil, npz):
        result = cli("train", "--dataset", dataset, "--steps", "1", "--threads", "1", "--quiet",
                     "-o", tmp_path / f"run-{dataset.suffix[1:]}")
        assert result.code == 2 and one_line_error(result.err), result
    assert not sentinel.exists(), "a pickle was executed"


def test_eval_refuses_pickled_inception_weights(cli, good_onnx, tmp_path):
    sentinel = tmp_path / "PWNED"
    evil = evil_pickle(tmp_path / "pt_inception-2015-12-05.pth", sentinel)
    result = cli("eval", good_onnx, "--n", "16", "--inception", evil)
    assert result.code == 2 and one_line_error(result.err), result
    assert not sentinel.exists(), "a pickle was executed"
