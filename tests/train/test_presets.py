"""Training recipes that fit the machine: ``--preset`` (auto: fast on a CPU), explicit options over
the preset, a resumed run keeping its stored recipe, and the warm-up estimate printed before the
first step, whose rolled-back steps leave the run bit for bit as it would have been."""

from __future__ import annotations

import json

import pytest
import torch

from ganedge.artifacts.run_dir import OPTIMIZER_FILE, STATE_FILE, WEIGHTS_FILE, read_config, read_state
from tests.train.helpers import read_tensors, run_cli, tiny_config

SMALL = ["--dataset", "scenes", "--image-size", "16", "--threads", "1", "--log-every", "2", "--sample-every", "100"]


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("preset") / "run"
    result = run_cli("train", *SMALL, "--steps", "6", "--json", "-o", str(run))
    assert result.returncode == 0, result.stderr
    return run, result


def test_defaults_on_a_cpu_are_the_fast_recipe(default_run):
    run, result = default_run
    config = read_config(run)
    assert (config.model.arch, config.model.g_width, config.model.d_spectral_norm) == ("dcgan", 32, False)
    assert (config.train.batch_size, config.train.lr_g, config.train.lr_d) == (32, 1.5e-3, 1.5e-3)
    assert (config.train.r1_gamma, config.train.r1_every, config.train.ema_decay) == (1.0, 8, 0.995)
    recipe, estimate = result.stderr.splitlines()[:2]
    assert recipe.startswith("recipe: fast (") and "auto: training on cpu" in recipe and "dcgan width 32/32" in recipe
    assert estimate.startswith("estimate: ") and "steps/s" in estimate and "step 6 in about" in estimate


def test_the_estimate_is_in_the_json_summary(default_run):
    _, result = default_run
    summary = json.loads(result.stdout)
    assert summary["estimate"]["steps_per_s"] > 0 and summary["estimate"]["timed_steps"] >= 1
    assert summary["estimate"]["steps"] == 6 and summary["estimate"]["start_step"] == 0


def test_explicit_options_override_the_preset(tmp_path):
    run = tmp_path / "run"
    result = run_cli("train", *SMALL, "--preset", "quality", "--arch", "dcgan", "--batch-size", "8", "--lr-g", "1e-3",
                     "--steps", "0", "-o", str(run))
    assert result.returncode == 0, result.stderr
    config = read_config(run)
    assert config.model.arch == "dcgan" and config.train.batch_size == 8 and config.train.lr_g == 1e-3
    assert config.train.lr_d == 2e-4 and config.model.d_spectral_norm and config.train.ema_decay == 0.999  # quality
    assert config.model.g_width is None  # another arch than the preset's keeps its own widths
    assert "recipe: quality (" in result.stderr and "yours: arch, batch_size, lr_g" in result.stderr


def test_a_resumed_run_keeps_its_stored_recipe(tmp_path):
    run = tmp_path / "run"
    first = run_cli("train", *SMALL, "--preset", "quality", "--arch", "dcgan", "--g-width", "4", "--d-width", "4",
                    "--batch-size", "8", "--steps", "1", "--quiet", "-o", str(run))
    assert first.returncode == 0, first.stderr
    stored = read_config(run)
    resumed = run_cli("train", "--resume", "--steps", "2", "-o", str(run))  # on a CPU, where auto means fast
    assert resumed.returncode == 0, resumed.stderr
    assert read_config(run) == stored and read_state(run / STATE_FILE)["step"] == 2
    assert "recipe: the run's own" in resumed.stderr and "lr 0.0002/0.0002" in resumed.stderr
    refused = run_cli("train", "--resume", "--preset", "fast", "--steps", "3", "-o", str(run))
    assert refused.returncode == 2 and "--preset fast" in refused.stderr and "train.lr_g=0.0015" in refused.stderr


def test_help_documents_presets_and_the_estimate():
    result = run_cli("train", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "--preset [auto|fast|quality]" in text and "fast: dcgan, quality: resnet" in text
    assert "estimate of the time to the budget" in text and "rolled back" in text


@pytest.mark.parametrize("arch", ["dcgan", "resnet"])  # resnet: spectral-norm buffers must roll back too
def test_warm_up_steps_are_rolled_back_exactly(arch, tmp_path, scenes16):
    from ganedge.train.loop import train

    config = tiny_config(arch=arch, steps=7, r1_gamma=1.0, r1_every=2, ema_decay=0.9)
    results = {}
    for estimate in (False, True):
        results[estimate] = train(config, tmp_path / str(estimate), dataset=scenes16, threads=1, quiet=True,
                                  estimate=estimate)
    assert results[False].estimate is None and results[True].estimate["timed_steps"] == 3
    for name in (WEIGHTS_FILE, OPTIMIZER_FILE):
        plain, warmed = read_tensors(tmp_path / "False" / name), read_tensors(tmp_path / "True" / name)
        assert plain.keys() == warmed.keys()
        assert all(torch.equal(plain[k], warmed[k]) for k in plain), f"{name} differs after the warm-up"


def test_estimate_texts():
    from ganedge.train.estimate import Estimate

    by_steps = Estimate(steps_per_s=8.0, timed_steps=3, start_step=0, steps=10_000, seconds_left=None)
    assert by_steps.describe().endswith("step 10,000 in about 21 min") and by_steps.steps_to_end() == 10_000
    by_time = Estimate(steps_per_s=8.0, timed_steps=3, start_step=0, steps=10_000, seconds_left=480.0)
    assert "the time budget ends in 8.0 min near step 3,840 (step 10,000 would take 21 min)" in by_time.describe()
    slow = Estimate(steps_per_s=0.75, timed_steps=3, start_step=1000, steps=10_000, seconds_left=None)
    assert slow.describe().endswith("step 10,000 in about 3.3 h")
