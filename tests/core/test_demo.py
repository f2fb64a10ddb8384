"""`make demo`'s job, end to end at a tiny budget: train on scenes, FD before/after, export fp32 and
int8 through their gates, sample through the SDK, bench side by side, summary.json."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from PIL import Image


def run_demo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganedge.demo", "--quiet", *args], capture_output=True, text=True,
                          timeout=600)


def test_demo_runs_every_stage_and_writes_its_outputs(tmp_path):
    out = tmp_path / "demo-out"
    result = run_demo("--steps", "6", "--fd-samples", "300", "--bench-seconds", "0.2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    for stage in ("[1] train", "[2] export", "[3] sample", "[4] bench", "[5] walk"):
        assert stage in result.stdout
    assert "FD at step 0:" in result.stdout and "FD at step 6:" in result.stdout

    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 6
    assert np.isfinite(summary["fd_start"]) and np.isfinite(summary["fd_end"])
    assert [p.split("/")[-1] for p in summary["models"]] == ["model.onnx", "model.int8.onnx"]
    # Three artifacts (run dir on torch, fp32 and int8 ONNX) at batch 1 and 64, each measured.
    rows = {(r["backend"], r["precision"], r["batch_size"]) for r in summary["bench"]}
    assert rows == {(b, p, n) for b, p in (("torch", "fp32"), ("onnxruntime", "fp32"), ("onnxruntime", "int8"))
                    for n in (1, 64)}
    assert all(r["images_per_s"] > 0 for r in summary["bench"])
    # The torch grid and the SDK grid show the same 64 seeds (8x8 tiles of 16 px upscaled).
    with Image.open(summary["grid"]) as torch_grid, Image.open(summary["onnx_grid"]) as onnx_grid:
        assert torch_grid.size == onnx_grid.size
    assert (out / "bench.json").is_file() and (out / "run" / "config.json").is_file()
    # The closing walk: a looping GIF through six seeds at 4x (16 px -> 64 px), each keyframe a seed's image.
    from ganedge import sdk

    assert summary["walk"] == str(out / "walk.gif")
    with Image.open(out / "walk.gif") as walk:
        assert walk.size == (64, 64) and walk.info["loop"] == 0
        walk.seek(0)
        first = np.asarray(walk.convert("RGB"))
    with sdk.load(out / "model.onnx") as g:
        np.testing.assert_array_equal(first, g.sample(1, seed=0)[0].repeat(4, 0).repeat(4, 1))


def test_demo_out_that_is_a_file_is_one_line(tmp_path):
    target = tmp_path / "taken"
    target.write_text("not a folder")
    result = run_demo("--steps", "1", "--out", str(target))
    assert result.returncode == 2
    assert "is a file" in result.stderr and "Traceback" not in result.stderr
