"""examples/batch_generate.py in real subprocesses: a SIGKILL mid-run never leaves a half PNG that
counts as done, and the same command resumes where it stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tests.examples.example_helpers import EXAMPLES, decode_png

SCRIPT = EXAMPLES / "batch_generate.py"
SEEDS = 2000


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          timeout=300, **kwargs)


def seed_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("seed*.png"))


def test_killed_run_resumes_and_every_file_is_whole(small_onnx, reference, tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, str(SCRIPT), str(small_onnx), "--seeds", f"0-{SEEDS - 1}", "--outdir", str(out),
           "--batch-size", "8", "--workers", "2", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while len(seed_files(out)) < 50 if out.is_dir() else True:
            assert proc.poll() is None, f"finished before it could be killed: {proc.communicate()}"
            assert time.monotonic() < deadline, "no files appeared"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    done = seed_files(out)
    assert 50 <= len(done) < SEEDS
    expected = reference.sample(SEEDS, seed=0)
    for path in done:  # a file with a final name is a whole image: the one its seed gives
        seed = int(path.stem[4:])
        assert np.array_equal(decode_png(path.read_bytes()), expected[seed]), path.name

    resumed = run(small_onnx, "--seeds", f"0-{SEEDS - 1}", "--outdir", out, "--json")
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["skipped_existing"] == len(done)
    assert report["written"] == SEEDS - len(done)
    files = seed_files(out)
    assert [int(p.stem[4:]) for p in files] == list(range(SEEDS))
    assert not list(out.glob(".*.tmp")), "a temporary survived the resumed run"
    for path in files[::7]:
        assert np.array_equal(decode_png(path.read_bytes()), expected[int(path.stem[4:])]), path.name


def test_check_existing_redoes_a_damaged_file(small_onnx, reference, tmp_path):
    out = tmp_path / "out"
    assert run(small_onnx, "--seeds", "0-9", "--outdir", out, "--quiet").returncode == 0
    victim = out / "seed000004.png"
    victim.write_bytes(victim.read_bytes()[:40])  # truncated, as by a copy tool that died
    (out / ".seed000005.png.abc123.tmp").write_bytes(b"half a png")  # a killed run's leftover
    plain = json.loads(run(small_onnx, "--seeds", "0-9", "--outdir", out, "--json").stdout)
    assert plain["written"] == 0 and plain["stale_temporaries_removed"] == 1
    checked = run(small_onnx, "--seeds", "0-9", "--outdir", out, "--json", "--check-existing")
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["damaged_redone"] == 1 and report["written"] == 1
    assert np.array_equal(decode_png(victim.read_bytes()), reference.sample(1, seed=4)[0])


def test_resuming_with_other_settings_is_refused(small_onnx, tmp_path):
    out = tmp_path / "out"
    assert run(small_onnx, "--seeds", "0-3", "--outdir", out, "--quiet").returncode == 0
    other = run(small_onnx, "--seeds", "0-3", "--outdir", out, "--truncation", "0.5")
    assert other.returncode == 2
    assert other.stderr.startswith("error: ") and other.stderr.count("\n") == 1 and "truncation" in other.stderr
    again = run(small_onnx, "--seeds", "0-3", "--outdir", out, "--truncation", "0.5", "--overwrite", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["written"] == 4


def test_unwritable_outdir_is_one_line_error(small_onnx, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run(small_onnx, "--seeds", "0-3", "--outdir", blocker / "out")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
