"""SIGKILL in the middle of writing: during `ganedge export onnx` the previous file at the output path
stays byte-identical and loadable; during `ganedge train` the newest committed checkpoint stays
whole and the run directory stays loadable by the SDK.

Export kills land exactly where a non-atomic writer would leave damage: a Python audit hook in the
exporting process SIGKILLs it when the temporary file is opened for writing, or just before the
rename onto the target. Training kills land at random moments and inside checkpoint commits
(seen by polling the run directory); the delays come from a seeded RNG and are printed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

KILL_DRIVER = r"""
import os, signal, sys
point, target = sys.argv[1], os.path.abspath(sys.argv[2])
hidden_prefix = "." + os.path.basename(target) + "."
opens = []

def hook(event, args):
    if point == "tmp-open-for-write" and event == "open" and isinstance(args[0], str):
        name = os.path.basename(args[0])
        if name.startswith(hidden_prefix) and name.endswith(".tmp"):
            opens.append(name)
            if len(opens) == 2:  # 1st: mkstemp creates it; 2nd: opened to write the model bytes
                os.kill(os.getpid(), signal.SIGKILL)
    elif point == "before-rename" and event == "os.rename" and os.path.abspath(str(args[1])) == target:
        os.kill(os.getpid(), signal.SIGKILL)

sys.addaudithook(hook)
from ganedge.cli.main import main
main(sys.argv[3:])
"""


KILL_POINTS = ("tmp-open-for-write", "before-rename")


@pytest.mark.slow
def test_sigkill_during_export_keeps_the_previous_artifact(good_run, good_onnx, tmp_path):
    from ganedge import sdk

    before = good_onnx.read_bytes()
    procs = {}
    for point in KILL_POINTS:  # side by side: each export is a few seconds of single-threaded torch
        folder = tmp_path / point
        folder.mkdir()
        (folder / "model.onnx").write_bytes(before)
        procs[point] = subprocess.Popen([sys.executable, "-c", KILL_DRIVER, point, str(folder / "model.onnx"),
                                         "export", "onnx", str(good_run), "-o", str(folder / "model.onnx"),
                                         "--no-validate"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for point, proc in procs.items():
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == -signal.SIGKILL, f"{point}: the kill point was never reached: {err[-2000:]!r}"
        folder = tmp_path / point
        target = folder / "model.onnx"
        assert target.read_bytes() == before, point
        with sdk.load(target, device="cpu") as g, sdk.load(good_onnx, device="cpu") as reference:
            assert np.array_equal(g.sample(4, seed=1), reference.sample(4, seed=1))
        leftovers = [p.name for p in folder.iterdir() if p.name != "model.onnx"]
        assert all(n.startswith(".model.onnx.") and n.endswith(".tmp") for n in leftovers), (point, leftovers)


TRAIN_ARGS = ["--arch", "mlp", "--dataset", "digits", "--image-size", "16", "--latent-dim", "8", "--g-width", "16",
              "--d-width", "16", "--batch-size", "8", "--steps", "1000000", "--checkpoint-every", "1",
              "--keep-checkpoints", "2", "--log-every", "50", "--sample-every", "1000000", "--threads", "1", "--quiet"]


def _checkpoints(run: Path) -> list[Path]:
    folder = run / "checkpoints"
    return sorted(p for p in folder.iterdir() if p.name.startswith("step-")) if folder.is_dir() else []


def _wait_and_kill(proc: subprocess.Popen, run: Path, how: str, delay: float, after_step: int) -> bool:
    """Wait until a checkpoint newer than ``after_step`` is committed, then kill as ``how`` says.
    Returns whether a commit/publish was seen in flight at the kill (always True for "random")."""
    deadline = time.monotonic() + 240
    while not any(int(p.name[5:]) > after_step for p in _checkpoints(run)):
        assert proc.poll() is None, f"training exited early: {proc.communicate()[1][-2000:]}"
        assert time.monotonic() < deadline, "no new checkpoint within 240 s"
        time.sleep(0.01)
    landed = True
    if how == "random":
        time.sleep(delay)
    else:  # poll for the commit (or the re-link of the top-level files) in flight, and kill right then
        pattern = ".tmp-step-*" if how == "mid-commit" else ".*.tmp"
        where = run / "checkpoints" if how == "mid-commit" else run
        until = time.monotonic() + 20
        while not (landed := bool(list(where.glob(pattern)))) and time.monotonic() < until and proc.poll() is None:
            pass
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    return landed


@pytest.mark.slow
def test_sigkill_during_training_leaves_a_loadable_checkpoint(tmp_path):
    from ganedge import sdk
    from ganedge.train.rundir import verify_checkpoint

    rng = random.Random(20261127)
    run = tmp_path / "run"
    newest_step = -1
    for iteration, how in enumerate(["random", "mid-commit", "mid-publish"]):
        args = [sys.executable, "-m", "ganedge", "train", *TRAIN_ARGS, "-o", str(run)]
        if iteration:
            args.append("--resume")
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        delay = rng.uniform(0.0, 1.5)
        landed = _wait_and_kill(proc, run, how, delay, newest_step)
        assert proc.returncode == -signal.SIGKILL
        committed = _checkpoints(run)
        assert committed, "no checkpoint survived"
        state = verify_checkpoint(committed[-1])  # ArtifactError if its files do not belong together
        assert state["step"] >= newest_step
        newest_step = state["step"]
        with sdk.load(run, device="cpu") as g:  # the top-level files: what export and the SDK read
            images = g.sample(2, seed=0)
        assert images.shape == (2, 16, 16, 1)
        detail = f"delay {delay:.2f} s" if how == "random" else f"in flight when killed: {landed}"
        print(f"kill {iteration} ({how}, {detail}): newest checkpoint step {newest_step}")
