"""Outputs that cannot be written: a folder that cannot exist (its parent is a regular file — tests
run as root, so a chmod'ed folder would not stop them) and a full disk (RLIMIT_FSIZE in a real
subprocess: writes past the limit fail with EFBIG, as on a full disk). The promise: a one-line
error, no partial file under the final name, and an earlier file at the output path untouched."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile.hostile_helpers import one_line_error

FSIZE_DRIVER = ("import resource, sys\n"
                "limit = int(sys.argv[1])\n"
                "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))\n"
                "from ganedge.cli.main import main\n"
                "main(sys.argv[2:])\n")


def run_with_file_size_limit(limit: int, *args) -> subprocess.CompletedProcess:
    """``ganedge ARGS...`` in a process that may not write files larger than ``limit`` bytes."""
    return subprocess.run([sys.executable, "-c", FSIZE_DRIVER, str(limit), *map(str, args)], capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def blocked(tmp_path) -> Path:
    """A path under a regular file: nothing can ever be created below it."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("I am a file")
    return blocker / "out"


UNWRITABLE = {
    "export-onnx": ["export", "onnx", "{run}", "-o", "{out}/model.onnx"],
    "export-trt": ["export", "trt", "{onnx}", "-o", "{out}/model.engine"],
    "export-triton": ["export", "triton", "{onnx}", "-o", "{out}/repo"],
    "sample-grid": ["sample", "{onnx}", "--seeds", "0-3", "-o", "{out}/grid.png"],
    "sample-outdir": ["sample", "{onnx}", "--seeds", "0-3", "--outdir", "{out}/pngs"],
    "train": ["train", "--arch", "mlp", "--dataset", "digits", "--image-size", "16", "--steps", "1", "--quiet",
              "-o", "{out}/run"],
    "bench-json": ["bench", "{onnx}", "--batch-sizes", "1", "--duration", "0.05", "--no-cold-start", "--no-roofline",
                   "--json", "{out}/bench.json"],
}


@pytest.mark.parametrize("command", UNWRITABLE, ids=str)
def test_unwritable_output_is_a_one_line_error(cli, command, blocked, good_run, good_onnx):
    result = cli(*[part.format(run=good_run, onnx=good_onnx, out=blocked) for part in UNWRITABLE[command]])
    assert result.code == 2, result
    assert one_line_error(result.err), result
    assert not blocked.exists()


@pytest.mark.slow
def test_full_disk_during_onnx_export_keeps_the_previous_file(good_run, good_onnx, tmp_path):
    target = tmp_path / "model.onnx"
    shutil.copyfile(good_onnx, target)
    before = target.read_bytes()
    result = run_with_file_size_limit(4096, "export", "onnx", good_run, "-o", target, "--no-validate")
    assert result.returncode == 2, result.stderr[-2000:]
    assert one_line_error(result.stderr) and "cannot write" in result.stderr, result.stderr[-2000:]
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"], "a partial or temporary file was left"


def test_full_disk_during_triton_export_leaves_no_model_folder(good_onnx, tmp_path):
    repo = tmp_path / "repo"
    result = run_with_file_size_limit(1024, "export", "triton", good_onnx, "-o", repo)
    assert result.returncode == 2, result.stderr[-2000:]
    assert one_line_error(result.stderr) and "cannot write" in result.stderr, result.stderr
    assert not repo.exists() or list(repo.iterdir()) == [], "a partial model folder was left"


def test_full_disk_while_sampling_leaves_no_half_png(good_onnx, tmp_path):
    out = tmp_path / "pngs"
    result = run_with_file_size_limit(64, "sample", good_onnx, "--seeds", "0-3", "--outdir", out)
    assert result.returncode == 2, result.stderr[-2000:]
    assert one_line_error(result.stderr), result.stderr
    assert not list(out.glob("*.png")) and not list(out.glob(".*")), "a partial PNG was left"
