"""`ganedge sample`, run as a real subprocess on real models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganedge import sdk
from ganedge.images import make_grid


def ganedge(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganedge", *map(str, args)], capture_output=True, text=True,
                          timeout=120, **kwargs)


def ganedge_in_process(capsys, *args) -> tuple[int, str, str]:
    """The real entry point (``ganedge.cli.main.main``) in this process: exit code, stdout, stderr."""
    from ganedge.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def read_png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        array = np.asarray(image)
    return array if array.ndim == 3 else array[:, :, None]


def test_grid_holds_exactly_the_sdk_images(models, tmp_path):
    grid = tmp_path / "grid.png"
    result = ganedge("sample", models["dcgan"], "--seeds", "1,2,5-10", "-o", grid, "--cols", "4", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # exactly one JSON object
    assert report["seeds"] == 8 and report["backend"] == "onnxruntime" and report["output"] == str(grid)
    with sdk.load(models["dcgan"]) as g:
        expected = make_grid(g.sample_seeds([1, 2, 5, 6, 7, 8, 9, 10]), cols=4)
    np.testing.assert_array_equal(read_png(grid), expected)


def test_outdir_names_files_by_seed_and_resumes(models, tmp_path):
    out = tmp_path / "pngs"
    first = ganedge("sample", models["mlp"], "--seeds", "3-5", "--outdir", out, "--upscale", "2", "--batch-size", "2")
    assert first.returncode == 0, first.stderr
    assert sorted(p.name for p in out.iterdir()) == ["seed000003.png", "seed000004.png", "seed000005.png"]
    with sdk.load(models["mlp"]) as g:
        image = g.sample(1, seed=4)[0]
    np.testing.assert_array_equal(read_png(out / "seed000004.png"), image.repeat(2, 0).repeat(2, 1))
    before = (out / "seed000004.png").stat().st_mtime_ns
    again = ganedge("sample", models["mlp"], "--seeds", "3-7", "--outdir", out, "--json")
    report = json.loads(again.stdout)
    assert (report["skipped_existing"], report["images_rendered"]) == (3, 2)
    assert (out / "seed000004.png").stat().st_mtime_ns == before  # not rewritten
    assert len(list(out.iterdir())) == 5  # no temporary files left behind


def test_conditional_label_truncation_and_torch_backend(models, tmp_path, capsys):
    grid = tmp_path / "cond.png"
    code, out, err = ganedge_in_process(capsys, "sample", models["cond_run"], "--seeds", "0-3", "--label", "7",
                                        "--truncation", "0.5", "-o", grid, "--backend", "torch", "--json")
    assert code == 0, err
    assert json.loads(out)["backend"] == "torch"
    with sdk.load(models["cond"]) as g:
        expected = make_grid(g.sample(4, labels=7, truncation=0.5))
    assert np.abs(read_png(grid).astype(int) - expected.astype(int)).max() <= 1


@pytest.mark.parametrize("args, match", [
    (["--seeds", "0-3"], "exactly one of -o"),
    (["--seeds", "0-3", "-o", "{tmp}/a.png", "--outdir", "{tmp}/b"], "exactly one of -o"),
    (["--seeds", "5-1", "-o", "{tmp}/a.png"], "runs backwards"),
    (["--seeds", "x", "-o", "{tmp}/a.png"], "bad seed item"),
    (["--seeds", "0-3", "-o", "{tmp}/a.png", "--label", "2"], "unconditional"),
    (["--seeds", "0-3", "-o", "{tmp}/a.png", "--batch-size", "0"], "batch-size"),
    (["--seeds", "0-3", "-o", "{tmp}/a.png", "--backend", "tensorrt"], "ganedge export trt"),
    (["--seeds", "0-5000", "-o", "{tmp}/a.png"], "too large"),
    (["--seeds", "0", "-o", "{tmp}/file.txt/a.png"], "cannot create output folder"),
])
def test_bad_input_exits_2_with_one_line(models, tmp_path, capsys, args, match):
    (tmp_path / "file.txt").write_text("a regular file, so nothing can be created under it")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, _, err = ganedge_in_process(capsys, "sample", models["dcgan"], *args)
    assert code == 2, err
    assert match in err and "Traceback" not in err


def test_bad_input_in_a_real_process(models, tmp_path):
    result = ganedge("sample", models["cond"], "--seeds", "0", "-o", tmp_path / "a.png")
    assert result.returncode == 2 and "pass --label K (0..9)" in result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1


def test_nan_model_exits_1(nan_onnx, tmp_path, capsys):
    code, _, err = ganedge_in_process(capsys, "sample", nan_onnx, "--seeds", "0-15", "-o", tmp_path / "a.png")
    assert code == 1 and "NaN/Inf" in err
    assert not (tmp_path / "a.png").exists()


def test_disk_full_while_writing_leaves_no_partial_png(models, tmp_path):
    # RLIMIT_FSIZE makes every write past 1 KiB fail (EFBIG), as a full disk would.
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))\n"
        "from ganedge.cli.main import main\n"
        f"main(['sample', {str(models['dcgan'])!r}, '--seeds', '0-15', '-o', {str(tmp_path / 'big.png')!r}, "
        "'--upscale', '8'])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "cannot write" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
