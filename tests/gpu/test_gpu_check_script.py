"""bench/gpu_check.sh (every GPU check in one call) and bench/gpu_bench.py, exercised on a CPU machine.

The script runs in its dry-run mode with this interpreter, as on the GPU machine: it builds
ganedge's wheel from a copy of the checkout, pip-installs it into a scratch folder that goes
first on the import path (ahead of this machine's editable install), collects the chosen tests
against that install (tests/conftest.py refuses any other copy) and runs the GPU benchmark
preset, ganedge bench's engine, on the CPU with tiny settings.
"""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "gpu_check.sh"
ROW_KEYS = {"model", "backend", "device", "precision", "mode", "batch_size", "images_per_s", "p50_ms", "p99_ms",
            "mean_ms", "compute_images_per_s", "compute_p50_ms", "compute_p99_ms", "compute_timer",
            "flops_per_sample", "bytes_per_sample", "pct_of_peak", "pct_of_roofline", "n_calls"}
STEPS = ["install", "environment", "gpu tests", "benchmark"]


def run_script(tmp_path, **env):
    full_env = {**os.environ, "PYTHON": sys.executable, "OUT": str(tmp_path), "GANEDGE_WHEEL": "build", **env}
    full_env.pop("GPU_CHECK_QUICK", None)
    full_env.pop("GANEDGE_EXPECT_INSTALL", None)
    return subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=full_env, timeout=300)


def summary_of(stdout: str) -> list[str]:
    lines = stdout.strip().splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("== summary"))
    return lines[start + 1:]


def test_dry_run_runs_every_step_and_ends_with_the_summary(tmp_path):
    result = run_script(tmp_path, GPU_CHECK_DEVICE="cpu", GPU_CHECK_TESTS="tests/sdk/test_torch_backend.py")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    # The gpu tests collect against the installed wheel (a collection error would only be listed).
    log = (tmp_path / "gpu_tests.log").read_text()
    assert "error" not in log.lower() and "deselected" in log, log[-2000:]
    environment = (tmp_path / "environment.txt").read_text()
    assert "ganedge      0.1.0 from " in environment and "/site/ganedge" in environment, environment
    lines = result.stdout.strip().splitlines()
    assert "== environment" in lines and "== gpu tests: ok" in lines
    summary = summary_of(result.stdout)
    assert [line.partition(":")[0] for line in summary] == STEPS and all(": ok" in line for line in summary), summary
    assert (tmp_path / "summary.txt").read_text().splitlines() == summary
    for name in ("environment.txt", "gpu_tests.log", "gpu_tests.xml", "gpu_bench.json", "gpu_bench.md"):
        assert (tmp_path / name).is_file(), name

    report = json.loads((tmp_path / "gpu_bench.json").read_text())
    assert report["peak"]["cpu"]["fp32_gflops"] > 0 and report["peak"]["cpu"]["copy_gbps"] > 0
    rows = report["results"]
    assert [(r["precision"], r["mode"], r["batch_size"]) for r in rows] == [("fp32", "eager", 1), ("fp32", "eager", 2)]
    for row in rows:
        assert ROW_KEYS <= set(row), ROW_KEYS - set(row)
        assert row["model"] == "dcgan-32" and row["backend"] == "torch" and row["compute_timer"] == "host"
        assert row["images_per_s"] > 0 and row["compute_images_per_s"] > 0 and row["p99_ms"] >= row["p50_ms"] > 0
        assert row["pct_of_roofline"] >= row["pct_of_peak"] > 0  # the roofline's ceiling is never above the peak
    # DCGAN-32 at width 8 (channels 64, 32, 16, 8): a ConvTranspose's MACs are inputs x C_out x k*k,
    # a Conv's outputs x C_in x k*k; a FLOP is half a MAC.
    macs = (128 * 64 * 16                      # ConvT 128->64, 1x1 -> 4x4
            + 64 * 4 * 4 * 32 * 16             # ConvT 64->32, 4x4 -> 8x8
            + 32 * 8 * 8 * 16 * 16             # ConvT 32->16, 8x8 -> 16x16
            + 16 * 16 * 16 * 8 * 16            # ConvT 16->8, 16x16 -> 32x32
            + 3 * 32 * 32 * 8 * 9)             # Conv 8->3, 3x3
    assert rows[0]["flops_per_sample"] == 2 * macs
    # Weights count once per batch, so a bigger batch moves fewer bytes per image.
    assert rows[1]["bytes_per_sample"] < rows[0]["bytes_per_sample"]

    # The bench table comes before the summary, a line per row, and the Markdown report has the same rows.
    table = lines[:len(lines) - len(summary) - 1]
    header = max(i for i, line in enumerate(table) if line.startswith("model "))
    assert [line.split()[:5] for line in table[header + 2:header + 4]] == [
        ["dcgan-32", "torch", "cpu", "fp32", str(b)] for b in (1, 2)]
    markdown = (tmp_path / "gpu_bench.md").read_text()
    assert sum(line.startswith("| dcgan-32 | torch | cpu | fp32 |") for line in markdown.splitlines()) == 2


def test_a_stale_wheel_is_refused(tmp_path):
    wheel = tmp_path / "ganedge-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("ganedge/__init__.py", "# an older ganedge\n")
        archive.writestr("ganedge/sdk/__init__.py", (REPO / "sdk" / "__init__.py").read_text())
    result = run_script(tmp_path, GPU_CHECK_DEVICE="cpu", GANEDGE_WHEEL=str(wheel))
    assert result.returncode == 1
    assert "the wheel is not this checkout" in result.stdout + result.stderr
    assert summary_of(result.stdout)[-1].startswith("install: FAILED")
    assert not (tmp_path / "gpu_tests.log").exists()


def test_tests_refuse_a_ganedge_other_than_the_expected_install(tmp_path):
    """What stops the script's pytest step from testing the checkout's own folder by mistake."""
    test = REPO / "tests" / "core" / "test_seeds.py"
    env = {**os.environ, "GANEDGE_EXPECT_INSTALL": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
                            capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert result.returncode == 4, result.stdout[-2000:]
    assert "not from the install in" in result.stderr + result.stdout


def test_without_cuda_it_refuses_clearly(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the real check would run")
    result = run_script(tmp_path, GPU_CHECK_TESTS="tests/gpu/test_uint8_gpu.py")
    assert result.returncode == 1
    assert "needs numpy and torch with a visible CUDA GPU" in result.stdout
    assert not (tmp_path / "gpu_bench.json").exists() and (tmp_path / "environment.txt").is_file()
    assert summary_of(result.stdout)[-1].startswith("environment: FAILED")
