"""examples/pipeline.py --quick end to end, and every example's --help, in real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.examples.example_helpers import EXAMPLES, SERVER


@pytest.mark.slow
def test_pipeline_quick_runs_every_stage(tmp_path):
    workdir = tmp_path / "pipeline"
    result = subprocess.run([sys.executable, str(EXAMPLES / "pipeline.py"), "--workdir", str(workdir), "--quick",
                             "--threads", "1"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(summary["seconds"]) == {"train", "export", "verify", "sample", "bench"}
    assert summary["train"]["steps"] == 20 and summary["verify"]["passed"]
    assert json.loads((workdir / "pipeline.json").read_text())["workdir"] == str(workdir)
    assert {(r["backend"], r["batch_size"]) for r in summary["bench"]} == {
        ("torch", 1), ("torch", 8), ("onnxruntime", 1), ("onnxruntime", 8)}
    assert all(r["images_per_s"] > 0 for r in summary["bench"])
    assert json.loads((workdir / "bench.json").read_text())["results"]

    from ganedge import sdk
    from ganedge.images import make_grid

    with sdk.load(workdir / "model.onnx") as g:  # the export loads and renders the grid it claims
        grid = make_grid(g.sample(16, seed=0))
    from PIL import Image

    with Image.open(workdir / "grid.png") as image:
        saved = np.asarray(image)
    scale = saved.shape[0] // grid.shape[0]
    assert np.array_equal(saved[::scale, ::scale], grid)


def test_pipeline_refuses_a_used_workdir(tmp_path):
    (tmp_path / "something").write_text("x")
    result = subprocess.run([sys.executable, str(EXAMPLES / "pipeline.py"), "--workdir", str(tmp_path), "--quick"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "not empty" in result.stderr


@pytest.mark.parametrize("script", [SERVER, EXAMPLES / "batch_generate.py", EXAMPLES / "pipeline.py"],
                         ids=lambda p: p.name)
def test_help_has_examples(script):
    result = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Examples:" in result.stdout
