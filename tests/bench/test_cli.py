"""``ganedge bench`` in a real subprocess: bad input is one line and exit 2; --json - is one object."""

import json
import subprocess
import sys

import pytest


def run_cli(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "ganedge", "bench", *args], capture_output=True, text=True,
                          timeout=timeout)


def _one_line_error(result):
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_missing_model(tmp_path):
    result = run_cli(str(tmp_path / "missing.onnx"))
    _one_line_error(result)
    assert "missing.onnx" in result.stderr


@pytest.mark.parametrize("sizes", ["1,x", "0", "1,,-3", ","])
def test_bad_batch_list(bench_models, sizes):
    result = run_cli(str(bench_models["fp32"]), "--batch-sizes", sizes)
    _one_line_error(result)
    assert "--batch-sizes" in result.stderr


def test_bad_backend_and_precision(bench_models):
    _one_line_error(run_cli(str(bench_models["fp32"]), "--backends", "tensorflow"))
    _one_line_error(run_cli(str(bench_models["run"]), "--precisions", "fp8"))
    # a filter that leaves nothing to run is a mistake too
    _one_line_error(run_cli(str(bench_models["fp32"]), "--backends", "torch"))


def test_unwritable_report_fails_before_benchmarking(bench_models, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run_cli(str(bench_models["fp32"]), "--json", str(blocker / "out.json"), timeout=60)
    _one_line_error(result)


def test_json_to_stdout_is_exactly_one_object(bench_models):
    result = run_cli(str(bench_models["fp32"]), "--batch-sizes", "1,2", "--duration", "0.05", "--warmup", "0.01",
                     "--min-calls", "2", "--slices", "2", "--threads", "1", "--device", "cpu", "--no-cold-start",
                     "--no-roofline", "--json", "-", "--quiet")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # nothing else on stdout
    assert [r["batch_size"] for r in data["results"]] == [1, 2]
    assert all(r["cold_start_s"] is None and r["pct_of_peak"] is None for r in data["results"])
    assert data["peak"] is None
    assert "img/s" in result.stderr  # the table went to stderr


def test_help_has_examples():
    result = run_cli("--help", timeout=60)
    assert result.returncode == 0
    assert "Examples:" in result.stdout and "--batch-sizes" in result.stdout and "--quality" in result.stdout


def test_cuda_graphs_on_a_cpu_is_one_line(bench_models):
    result = run_cli(str(bench_models["run"]), "--device", "cpu", "--modes", "eager,graphs", "--no-cold-start",
                     "--no-roofline", timeout=120)
    _one_line_error(result)
    assert "cuda" in result.stderr
    _one_line_error(run_cli(str(bench_models["run"]), "--modes", "lazy", timeout=60))
