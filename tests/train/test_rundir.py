"""Run directories and checkpoints: layout, atomic commits, proof of wholeness, fallback, pruning, load_generator."""

from __future__ import annotations

import json

import pytest
import torch

from ganedge.errors import ArtifactError, BadInputError
from ganedge.artifacts.run_dir import (CONFIG_FILE, METRICS_FILE, OPTIMIZER_FILE, STATE_FILE, WEIGHTS_FILE,
                                       load_optimizers, load_weights, read_config, read_state, save_optimizers)
from ganedge.models.load import load_generator
from ganedge.train.loop import train
from ganedge.train.rundir import RunDir, verify_checkpoint
from ganedge.train.step import GanModels
from tests.train.helpers import tiny_config


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, scenes16):
    run = tmp_path_factory.mktemp("trained") / "run"
    config = tiny_config("dcgan", steps=6, log_every=2, sample_every=3, checkpoint_every=2, keep_checkpoints=2)
    result = train(config, run, dataset=scenes16, quiet=True, threads=1)
    return run, config, result


def test_run_dir_layout(trained_run):
    run, config, result = trained_run
    assert result.step == 6 and result.stopped_by == "steps"
    for name in (CONFIG_FILE, WEIGHTS_FILE, OPTIMIZER_FILE, STATE_FILE, METRICS_FILE):
        assert (run / name).is_file(), name
    assert read_config(run) == config
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step-000000.png", "step-000003.png",
                                                                   "step-000006.png"]
    # Two newest checkpoints kept; the top level is the newest, by hard link.
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-000004", "step-000006"]
    assert (run / WEIGHTS_FILE).samefile(run / "checkpoints" / "step-000006" / WEIGHTS_FILE)
    state = read_state(run / STATE_FILE)
    assert state["step"] == 6 and {"torch", "numpy", "python"} <= set(state["rng"])
    assert state["train_seconds"] > 0 and "d_loss" in state["metrics"]
    lines = [json.loads(line) for line in (run / METRICS_FILE).read_text().splitlines()]
    assert [r["step"] for r in lines] == [2, 4, 6]
    assert all({"d_loss", "g_loss", "steps_per_s", "train_seconds"} <= set(r) for r in lines)


def test_every_file_records_its_step(trained_run):
    run, _, _ = trained_run
    _, weights_meta = load_weights(run / WEIGHTS_FILE)
    assert weights_meta["step"] == 6
    assert verify_checkpoint(run / "checkpoints" / "step-000004")["step"] == 4


def test_load_generator_uses_ema_weights(trained_run):
    run, config, _ = trained_run
    generator, loaded_config, meta = load_generator(run)
    assert loaded_config == config and meta["weights"] == "G_ema" and meta["step"] == 6
    assert not generator.training
    groups, _ = load_weights(run / WEIGHTS_FILE)
    for key, value in generator.state_dict().items():
        assert torch.equal(value, groups["G_ema"][key])
    with torch.no_grad():
        images = generator(torch.randn(3, config.model.latent_dim))
    assert images.shape == (3, 3, 16, 16)
    raw, _, meta_raw = load_generator(run, ema=False)
    assert meta_raw["weights"] == "G"


def test_damaged_newest_checkpoint_falls_back_to_the_previous(trained_run, tmp_path):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(trained_run[0], run)
    newest = run / "checkpoints" / "step-000006" / OPTIMIZER_FILE
    data = bytearray(newest.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in a tensor: loads fine, but no longer the file state.json vouches for
    newest.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="does not match"):
        verify_checkpoint(newest.parent)
    folder, state = RunDir.open(run).latest_checkpoint()
    assert folder.name == "step-000004" and state["step"] == 4
    # The top-level files now point at the checkpoint resume continues from.
    assert read_state(run / STATE_FILE)["step"] == 4
    assert load_weights(run / WEIGHTS_FILE)[1]["step"] == 4


def test_state_for_another_step_is_rejected(trained_run, tmp_path):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(trained_run[0], run)
    folder = run / "checkpoints" / "step-000006"
    state = json.loads((folder / STATE_FILE).read_text())
    state["step"] = 5
    (folder / STATE_FILE).write_text(json.dumps(state))
    with pytest.raises(ArtifactError, match="step 5"):
        verify_checkpoint(folder)


def test_leftovers_of_a_crash_are_removed_and_never_used(trained_run, tmp_path):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(trained_run[0], run)
    (run / "checkpoints" / ".tmp-step-000008-123").mkdir()
    (run / "checkpoints" / ".tmp-step-000008-123" / WEIGHTS_FILE).write_bytes(b"half")
    (run / "checkpoints" / ".trash-step-000002").mkdir()
    (run / ".weights.safetensors.tmp").write_bytes(b"x")
    opened = RunDir.open(run)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-000004", "step-000006"]
    assert not (run / ".weights.safetensors.tmp").exists()
    assert opened.latest_checkpoint()[1]["step"] == 6


def test_no_complete_checkpoint_is_a_clear_error(tmp_path):
    run = RunDir.create(tmp_path / "run", tiny_config())
    with pytest.raises(BadInputError, match="no complete checkpoint"):
        RunDir.open(run.path).latest_checkpoint()


def test_create_refuses_non_empty_or_file(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(BadInputError, match="not empty"):
        RunDir.create(tmp_path / "busy", tiny_config())
    (tmp_path / "file").write_text("x")
    with pytest.raises(BadInputError, match="is a file"):
        RunDir.create(tmp_path / "file", tiny_config())


def test_truncate_metrics_drops_later_and_torn_lines(tmp_path):
    run = RunDir.create(tmp_path / "run", tiny_config())
    for step in (2, 4, 6):
        run.append_metrics({"step": step, "d_loss": 1.0})
    with open(run.path / METRICS_FILE, "a") as handle:
        handle.write('{"step": 8, "d_lo')  # a kill mid-line
    run.truncate_metrics(4)
    assert [json.loads(line)["step"] for line in (run.path / METRICS_FILE).read_text().splitlines()] == [2, 4]


def test_optimizer_state_round_trips(tmp_path, scenes16):
    from ganedge.train.batches import BatchStream
    from ganedge.train.rng import torch_generator

    models = GanModels(tiny_config("dcgan"))
    stream = BatchStream(scenes16, 8, 1, 4, seed=0)
    models.train_step(0, [stream.get(0)], torch_generator(0, 0, 0))
    save_optimizers(tmp_path / "opt.safetensors", models.optimizers, {"step": 1})
    fresh = GanModels(tiny_config("dcgan"))
    meta = load_optimizers(tmp_path / "opt.safetensors", fresh.optimizers)
    assert meta["step"] == 1
    for name, optimizer in models.optimizers.items():
        a, b = optimizer.state_dict(), fresh.optimizers[name].state_dict()
        assert a["param_groups"] == b["param_groups"]
        for index, per_param in a["state"].items():
            for key, value in per_param.items():
                assert torch.equal(value, b["state"][index][key]), (name, index, key)


def test_crash_after_commit_before_relinking_resumes_from_the_new_checkpoint(trained_run, tmp_path):
    """A kill between the folder rename and the top-level re-link: top level says step 4, newest folder 6."""
    import os
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(trained_run[0], run)
    for name in (WEIGHTS_FILE, OPTIMIZER_FILE, STATE_FILE):
        (run / name).unlink()
        os.link(run / "checkpoints" / "step-000004" / name, run / name)
    folder, state = RunDir.open(run).latest_checkpoint()
    assert state["step"] == 6
    assert read_state(run / STATE_FILE)["step"] == 6 and load_weights(run / WEIGHTS_FILE)[1]["step"] == 6


def test_crash_before_commit_leaves_a_whole_but_uncommitted_folder_that_is_ignored(trained_run, tmp_path):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(trained_run[0], run)
    shutil.copytree(run / "checkpoints" / "step-000006", run / "checkpoints" / ".tmp-step-000008-77")
    folder, state = RunDir.open(run).latest_checkpoint()
    assert state["step"] == 6 and not (run / "checkpoints" / ".tmp-step-000008-77").exists()
