"""SIGKILL ``ganedge generate`` (a real subprocess) at random moments, mid-shard and mid-commit,
then ``--resume``: every seed is written exactly once, no temporary is ever visible as a shard,
and index.json is right. Kill moments come from a seeded RNG and are printed on failure."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

from tests.examples.example_helpers import decode_png
from tests.generate.conftest import all_images_on_disk, tar_samples, writer_pids, written_seeds

COUNT, SHARD = 4000, 200  # 20 shards: three kills never use them all, even on an idle machine


def command(model: Path, out: Path, fmt: str, *extra) -> list[str]:
    return [sys.executable, "-m", "ganedge", "generate", str(model), "-o", str(out), "--count", str(COUNT),
            "--shard-size", str(SHARD), "--format", fmt, "--batch-size", "8", "--resume", "--quiet", *map(str, extra)]


def temporaries(out: Path) -> list[Path]:
    return [p for p in out.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")] if out.is_dir() else []


def markers(out: Path) -> list[Path]:
    return sorted(out.glob("[0-9]" * 6 + ".json")) if out.is_dir() else []


def kill_when(proc: subprocess.Popen, ready, deadline_s: float = 120.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not ready():
        assert proc.poll() is None, f"finished before the kill: {proc.communicate()[1][-2000:]!r}"
        assert time.monotonic() < deadline, "the kill moment never came"
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)


def wait_gone(pids: set[int], timeout: float = 10.0) -> None:
    """Workers die with the driver (PR_SET_PDEATHSIG): none may go on writing."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            assert time.monotonic() < deadline, f"worker {pid} outlived its killed driver"
            time.sleep(0.01)


def check_after_kill(out: Path, fmt: str) -> None:
    """What a reader may see after a kill: whole shard files only; marked shards hold their seeds."""
    if fmt == "webdataset":
        for tar in out.glob("[0-9]*.tar"):  # a visible tar is always complete, marker or not
            with tarfile.open(tar) as handle:
                assert len(handle.getmembers()) == 2 * SHARD, tar.name
    seen: list[int] = []
    for marker in markers(out):
        record = json.loads(marker.read_text())
        seen += list(range(record["first_seed"], record["first_seed"] + record["count"]))
    assert len(seen) == len(set(seen))


def check_exactly_once(out: Path, fmt: str, reference) -> None:
    seeds = written_seeds(out)
    assert sorted(seeds) == list(range(COUNT)), "a seed is missing or written twice"
    assert sorted(all_images_on_disk(out, fmt)) == list(range(COUNT)), "stray images outside complete shards"
    assert not temporaries(out)
    index = json.loads((out / "index.json").read_text())
    assert index["totals"]["images"] == COUNT and len(index["shards"]) == COUNT // SHARD
    assert [s["first_seed"] for s in index["shards"]] == list(range(0, COUNT, SHARD))
    picks = [0, 777, COUNT - 1]
    expected = reference.sample_seeds(picks)
    for seed, image in zip(picks, expected):
        shard = index["shards"][seed // SHARD]
        path = out / shard["files"][0]
        if fmt == "webdataset":
            got = next(s["png"] for s in tar_samples(path) if s["json"]["seed"] == seed)
        else:
            got = decode_png((out / "images" / f"{seed // SHARD:06d}" / f"{seed:06d}.png").read_bytes())
        assert np.array_equal(got, image), seed


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["webdataset", "folder"])
def test_sigkill_at_random_moments_then_resume_writes_every_seed_once(uncond_onnx, uncond_ref, tmp_path, fmt):
    out = tmp_path / "out"
    rng = random.Random(f"generate-kills-{fmt}")
    moments = []
    for attempt in range(3):
        proc = subprocess.Popen(command(uncond_onnx, out, fmt, "--workers", 2), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        if attempt == 0:  # mid-shard: a worker's temporary exists
            writers: set[int] = set()

            def mid_shard() -> bool:
                writers.update(writer_pids(out))
                return bool(writers)
            kill_when(proc, mid_shard)
            wait_gone(writers)
            moments.append("mid-shard")
        else:
            start_markers = len(markers(out))
            delay = rng.uniform(0.0, 0.3)
            moments.append(f"{delay:.3f}s after shard {start_markers + 1}")
            began: list[float] = []

            def later() -> bool:
                if not began and len(markers(out)) > start_markers:
                    began.append(time.monotonic())
                return bool(began) and time.monotonic() - began[0] >= delay
            kill_when(proc, later)
        check_after_kill(out, fmt)
        assert len(markers(out)) < COUNT // SHARD, f"the run ended before its kill: {moments}"
    done = subprocess.run(command(uncond_onnx, out, fmt, "--workers", 2, "--json"), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["shards_complete_before"] >= 1 and report["shards_rendered"] >= 1, (moments, report)
    check_exactly_once(out, fmt, uncond_ref)


KILL_AT = r"""
import os, signal, sys
point, out = sys.argv[1], os.path.realpath(sys.argv[2])

moved = []

def hook(event, args):
    if event != "os.rename":  # os.replace audits as os.rename too; the hook runs before the call
        return
    dst = os.path.realpath(str(args[1]))
    if point == "folder-between-class-renames":  # shard 1's second class folder is about to move in
        if os.path.basename(dst) == "000001" and os.path.dirname(os.path.dirname(dst)) == out:
            moved.append(dst)
            if len(moved) == 2:
                os.kill(os.getpid(), signal.SIGKILL)
    elif point == "before-marker" and dst == os.path.join(out, "000001.json"):
        os.kill(os.getpid(), signal.SIGKILL)

sys.addaudithook(hook)
from ganedge.cli.main import main
main(sys.argv[3:])
"""


@pytest.mark.parametrize("point,fmt", [("folder-between-class-renames", "folder"), ("before-marker", "webdataset")])
def test_kill_inside_a_shard_commit(cond_onnx, cond_ref, tmp_path, point, fmt):
    """--workers 1 renders in the driver, so an audit hook there can kill at the exact commit step."""
    out = tmp_path / "out"
    args = ["generate", str(cond_onnx), "-o", str(out), "--count", "30", "--shard-size", "10", "--format", fmt,
            "--workers", "1", "--quiet"]
    killed = subprocess.run([sys.executable, "-c", KILL_AT, point, str(out), *args], capture_output=True, text=True,
                            timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert not (out / "000001.json").exists() and (out / "000000.json").exists()
    if fmt == "folder":  # the one state a reader can see: class folder "1" has shard 1, "2" does not yet
        assert (out / "0-cat" / "000001").is_dir() and not (out / "1-dog" / "000001").exists()
    else:
        assert (out / "000001.tar").is_file()  # complete, just not yet marked
    resumed = subprocess.run([sys.executable, "-m", "ganedge", *args, "--resume", "--json"], capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["shards_complete_before"] == 1 and report["shards_rendered"] == 2 and report["leftovers_removed"] >= 1
    assert sorted(written_seeds(out)) == list(range(30))
    assert sorted(all_images_on_disk(out, fmt)) == list(range(30))
    assert not temporaries(out)
    index = json.loads((out / "index.json").read_text())
    assert [c["count"] for c in index["classes"]] == [6, 6, 6, 6, 6]


def test_a_worker_killed_mid_shard_is_replaced(uncond_onnx, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen(command(uncond_onnx, out, "webdataset", "--workers", 2, "--json"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    victim = None
    while victim is None:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        victim = next(iter(writer_pids(out)), None)  # a worker writing a shard right now
        time.sleep(0.002)
    os.kill(victim, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    report = json.loads(stdout)
    assert report["workers_lost"] == 1 and report["images_rendered"] == COUNT
    assert sorted(written_seeds(out)) == list(range(COUNT))
    assert sorted(all_images_on_disk(out, "webdataset")) == list(range(COUNT)) and not temporaries(out)
