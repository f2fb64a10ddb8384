"""bench/gpu_check.sh (the one-call GPU check) and bench/gpu_bench.py, exercised on a CPU machine.

The script runs in its dry-run mode with this interpreter but not this install: it builds its
own symlinked `ganedge` package in a temporary folder and works from there, as on the GPU
machine; its benchmark step runs gpu_bench on the CPU with tiny settings.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "gpu_check.sh"
ROW_KEYS = {"model", "backend", "device", "precision", "mode", "batch_size", "images_per_s", "p50_ms", "p99_ms",
            "mean_ms", "e2e_images_per_s", "e2e_p50_ms", "e2e_p99_ms", "flops_per_sample", "bytes_per_sample",
            "pct_of_peak", "pct_of_roofline", "iterations"}


# The GPU machine has torch and friends but no ganedge install; here ganedge is installed in
# editable mode, whose import hook would find ganedge.sdk/.bench whatever the script does. This
# sitecustomize (loaded at interpreter start through PYTHONPATH) removes that hook, so the
# script's own symlinked package is the only ganedge there is, as on the GPU machine.
NO_EDITABLE_INSTALL = """import sys
sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in repr(f)]
sys.path_hooks[:] = [h for h in sys.path_hooks if "__editable__" not in repr(h)]
sys.path_importer_cache.clear()
"""


def run_script(tmp_path, **env):
    site = tmp_path / "no-editable"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_EDITABLE_INSTALL)
    full_env = {**os.environ, "PYTHON": sys.executable, "OUT": str(tmp_path), "PYTHONPATH": str(site), **env}
    full_env.pop("GPU_CHECK_QUICK", None)
    return subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=full_env, timeout=240)


def test_dry_run_runs_every_step_and_ends_with_the_bench_table(tmp_path):
    result = run_script(tmp_path, GPU_CHECK_DEVICE="cpu", GPU_CHECK_TESTS="tests/sdk/test_torch_backend.py")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    # The gpu tests collect against the symlinked package (a collection error would only be listed).
    log = (tmp_path / "gpu_tests.log").read_text()
    assert "error" not in log.lower() and "deselected" in log, log[-2000:]
    lines = result.stdout.strip().splitlines()
    assert "== environment" in lines and "== gpu tests: ok" in lines
    assert lines[-1].startswith("| dcgan-32 | fp32 | eager | 2 |") and lines[-4].startswith("| model |")
    for name in ("environment.txt", "gpu_tests.log", "gpu_tests.xml", "gpu_bench.json", "gpu_bench.md"):
        assert (tmp_path / name).is_file(), name
    assert (tmp_path / "gpu_bench.md").read_text().strip().endswith(lines[-1])

    report = json.loads((tmp_path / "gpu_bench.json").read_text())
    assert report["peak"]["fp32_tflops"] > 0 and report["peak"]["copy_gbps"] > 0
    rows = report["results"]
    assert [(r["precision"], r["mode"], r["batch_size"]) for r in rows] == [("fp32", "eager", 1), ("fp32", "eager", 2)]
    for row in rows:
        assert ROW_KEYS <= set(row), ROW_KEYS - set(row)
        assert row["images_per_s"] > 0 and row["e2e_images_per_s"] > 0 and row["p99_ms"] >= row["p50_ms"] > 0
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


def test_without_cuda_it_refuses_clearly(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the real check would run")
    result = run_script(tmp_path, GPU_CHECK_TESTS="tests/gpu/test_uint8_gpu.py")
    assert result.returncode == 1
    assert "needs numpy and torch with a visible CUDA GPU" in result.stdout
    assert not (tmp_path / "gpu_bench.json").exists() and (tmp_path / "environment.txt").is_file()
