"""examples/batch_generate.py in real subprocesses: killed mid-job, the same command resumes and
every seed ends up written once; other settings on the same folder are refused in one line.
(The generate machinery itself is tested in depth in tests/generate/.)"""

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
COUNT, SHARD = 2000, 250


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=300)


def pngs(out: Path) -> list[Path]:
    return sorted(out.glob("images/[0-9]*/*.png"))


def test_killed_run_resumes_and_every_seed_is_written_once(small_onnx, reference, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, str(SCRIPT), str(small_onnx), str(out), "--count", str(COUNT),
                             "--shard-size", str(SHARD), "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (out.is_dir() and list(out.glob("000000.json"))):  # the first shard is complete
            assert proc.poll() is None, f"finished before it could be killed: {proc.communicate()}"
            assert time.monotonic() < deadline, "no shard appeared"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    resumed = run(small_onnx, out, "--count", COUNT, "--shard-size", SHARD, "--workers", 2)
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert 1 <= report["shards_complete_before"] < COUNT // SHARD and 0 < report["images_rendered"] < COUNT
    files = pngs(out)
    assert sorted(int(p.stem) for p in files) == list(range(COUNT))
    expected = reference.sample(COUNT, seed=0)
    for path in files[::97]:
        assert np.array_equal(decode_png(path.read_bytes()), expected[int(path.stem)]), path.name


def test_other_settings_on_the_same_folder_are_refused(small_onnx, tmp_path):
    out = tmp_path / "out"
    assert run(small_onnx, out, "--count", 4).returncode == 0
    other = run(small_onnx, out, "--count", 4, "--format", "npz")
    assert other.returncode == 2
    assert other.stderr.startswith("error: ") and other.stderr.count("\n") == 1 and "--format" in other.stderr
