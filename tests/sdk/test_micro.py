"""bench/micro.py runs end to end and reports what it promises (no speed is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys


def micro(*args) -> dict:
    result = subprocess.run([sys.executable, "-m", "ganedge.bench.micro", *map(str, args), "--json"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # exactly one JSON object


def test_latents_benchmark():
    report = micro("latents", "--sizes", "1,256", "--duration", "0.05")
    assert [r["n"] for r in report["results"]] == [1, 256]
    assert all(r["latents_per_s"] > 0 and r["calls"] >= 3 for r in report["results"])


def test_overhead_benchmark_on_an_onnx_file(models):
    report = micro("overhead", "--onnx", models["mlp"], "--batch-sizes", "1,4", "--duration", "0.05", "--no-torch")
    rows = report["results"]
    assert {(r["workload"], r["batch_size"]) for r in rows} == {(w, b) for w in ("sdk", "bare") for b in (1, 4)}
    for r in rows:
        assert r["images_per_s"] > 0 and r["p50_ms"] <= r["p99_ms"] and r["calls"] >= 5
    assert all("overhead_vs_bare_pct" in r for r in rows if r["workload"] == "sdk")
    assert "machine" in report


def test_batcher_benchmark(models):
    report = micro("batcher", "--onnx", models["mlp"], "--callers", "8", "--duration", "0.3", "--max-batch", "8")
    modes = {r["mode"]: r for r in report["results"]}
    assert set(modes) == {"unbatched", "batcher"}
    assert modes["batcher"]["images"] > 0 and modes["unbatched"]["images"] > 0
    assert 1 <= modes["batcher"]["mean_batch"] <= 8 and modes["batcher"]["max_batch_seen"] <= 8
