"""`ganedge export trt` as users run it: real subprocesses, one-line errors, exit codes."""

import importlib.util
import subprocess
import sys

import pytest

TENSORRT_INSTALLED = importlib.util.find_spec("tensorrt") is not None


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "ganedge", "export", "trt", *map(str, args)],
                          capture_output=True, text=True)


def assert_one_line_error(result, code, fragment):
    assert result.returncode == code, result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert fragment in result.stderr, result.stderr


def test_help_has_examples_and_defaults():
    result = run_cli("--help")
    assert result.returncode == 0
    assert "Examples:" in result.stdout and "--batch MIN:OPT:MAX" in result.stdout and "1:64:256" in result.stdout


def test_missing_onnx(tmp_path):
    assert_one_line_error(run_cli(tmp_path / "missing.onnx", "-o", tmp_path / "m.engine"), 2, "does not exist")


def test_bad_batch(make_onnx, tmp_path):
    result = run_cli(make_onnx(), "-o", tmp_path / "m.engine", "--batch", "8:4:16")
    assert_one_line_error(result, 2, "MIN <= OPT <= MAX")


def test_batch_above_static_onnx_batch(make_onnx, tmp_path):
    result = run_cli(make_onnx(static_batch=4), "-o", tmp_path / "m.engine", "--batch", "1:8:64")
    assert_one_line_error(result, 2, "above the ONNX's fixed batch size 4")


def test_engine_suffix(make_onnx, tmp_path):
    assert_one_line_error(run_cli(make_onnx(), "-o", tmp_path / "m.onnx2"), 2, "must end in .engine or .plan")


def test_output_under_a_regular_file(make_onnx, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_one_line_error(run_cli(make_onnx(), "-o", blocker / "m.engine"), 2, "cannot create output folder")


def test_int8_without_qdq_is_refused_before_tensorrt(make_onnx, tmp_path):
    result = run_cli(make_onnx(precision="int8", qdq=False), "-o", tmp_path / "m.engine")
    assert_one_line_error(result, 2, "Q/DQ form")


def test_onnx_without_manifest(make_onnx, tmp_path):
    assert_one_line_error(run_cli(make_onnx(manifest=False), "-o", tmp_path / "m.engine"), 2, "no ganedge manifest")


@pytest.mark.skipif(TENSORRT_INSTALLED, reason="tensorrt is installed here")
def test_without_tensorrt_names_the_extra(make_onnx, tmp_path):
    result = run_cli(make_onnx(), "-o", tmp_path / "m.engine", "--batch", "1:4:16")
    assert_one_line_error(result, 2, "pip install 'ganedge[gpu]'")
    assert not (tmp_path / "m.engine").exists()
