"""Crash safety of `ganedge train`: a real process is SIGKILLed while it writes, then --resume continues.

The fault points (ganedge.train.rundir.fault_point) make the process kill itself at exact moments
of a checkpoint commit; one more test kills it from outside at an arbitrary moment. The strong
check: a run killed and resumed ends with exactly the weights, optimizer state and logged losses of
a run that was never interrupted.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
import torch

from ganedge.artifacts.run_dir import METRICS_FILE, OPTIMIZER_FILE, STATE_FILE, WEIGHTS_FILE, read_state
from ganedge.models.load import load_generator
from ganedge.train.rundir import FAULT_ENV
from tests.train.helpers import TINY_ARGS, read_tensors, run_cli

STEPS = ["--steps", "12", "--checkpoint-every", "4", "--log-every", "3"]  # checkpoints fall mid log-interval


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run = tmp_path_factory.mktemp("straight") / "run"
    result = run_cli("train", *TINY_ARGS, *STEPS, "--quiet", "-o", str(run))
    assert result.returncode == 0, result.stderr
    return run


def _losses(run):
    """metrics.jsonl without its timing fields."""
    rows = [json.loads(line) for line in (run / METRICS_FILE).read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in ("steps_per_s", "train_seconds")} for row in rows]


def _assert_same_run(a, b):
    for name in (WEIGHTS_FILE, OPTIMIZER_FILE):
        ta, tb = read_tensors(a / name), read_tensors(b / name)
        assert ta.keys() == tb.keys()
        different = [k for k in ta if not torch.equal(ta[k], tb[k])]
        assert not different, f"{name}: {len(different)} tensors differ, e.g. {different[0]}"
    assert _losses(a) == _losses(b)
    assert (a / "samples" / "step-000012.png").read_bytes() == (b / "samples" / "step-000012.png").read_bytes()


# Other moments ("before-commit": the temporary folder whole but not renamed; "after-commit": committed,
# top level still step 4) leave states that tests/train/test_rundir.py builds in-process, at no process cost.
@pytest.mark.parametrize("point, resumes_from", [
    ("after-tensors", 4),  # weights and optimizer written into the temporary folder, no state.json yet
    ("mid-publish", 8),  # committed; top-level weights already step 8, optimizer and state still step 4
])
def test_killed_during_checkpoint_then_resumed_equals_uninterrupted(point, resumes_from, uninterrupted, tmp_path):
    run = tmp_path / "run"
    killed = run_cli("train", *TINY_ARGS, *STEPS, "--quiet", "-o", str(run), env={FAULT_ENV: f"{point}@8"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    resumed = run_cli("train", *TINY_ARGS, *STEPS, "--resume", "--json", "-o", str(run))
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["start_step"] == resumes_from and summary["step"] == 12
    _assert_same_run(run, uninterrupted)
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]


def test_killed_from_outside_at_any_moment_resumes(tmp_path):
    """SIGKILL while the run checkpoints every step: whatever moment it hits, --resume continues."""
    run = tmp_path / "run"
    args = [sys.executable, "-m", "ganedge", "train", *TINY_ARGS, "--steps", "12", "--checkpoint-every", "1",
            "--keep-checkpoints", "2", "--quiet", "-o", str(run)]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (run / "checkpoints" / "step-000005").exists():
            assert process.poll() is None, process.stderr.read().decode()
            time.sleep(0.005)
        time.sleep(0.013)  # land somewhere inside a later step or commit
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        process.stderr.close()

    resumed = run_cli("train", *TINY_ARGS, "--checkpoint-every", "1", "--resume", "--json", "--steps", "12",
                      "-o", str(run))
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert 5 <= summary["start_step"] <= 12 and summary["step"] == 12
    assert read_state(run / STATE_FILE)["step"] == 12
    _, _, meta = load_generator(run)
    assert meta["step"] == 12


def test_sigint_saves_a_checkpoint_and_exits_130(tmp_path):
    run = tmp_path / "run"
    args = [sys.executable, "-m", "ganedge", "train", *TINY_ARGS, "--steps", "100000", "--checkpoint-every", "100000",
            "-o", str(run)]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (run / METRICS_FILE).exists():  # first log line: training runs
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "continue with --resume" in err
    step = read_state(run / STATE_FILE)["step"]
    assert step >= 2  # not the step-0 checkpoint: the interrupted step was saved
    assert (run / "checkpoints" / f"step-{step:06d}").is_dir()
