"""A complete tiny bench (run dir + fp32/fp16 ONNX, cold start, roofline, quality): every field sane."""

import math

import pytest

from ganedge.bench.rows import CORE_FIELDS, QUALITY_FIELDS

# MLP 32 -> 32 -> 32 -> 3*16*16: 2 x multiply-accumulates of its three Linear layers.
MLP_FLOPS = 2 * (32 * 32 + 32 * 32 + 32 * 768)


def test_every_row_has_every_field_with_sane_values(tiny_result):
    rows = tiny_result.results
    assert len(rows) == 3 * 2  # (run dir fp32, ONNX fp32, ONNX fp16) x batch sizes (1, 4)
    for row in rows:
        assert set(CORE_FIELDS + QUALITY_FIELDS) <= set(row), set(CORE_FIELDS + QUALITY_FIELDS) - set(row)
        assert row["images_per_s"] > 0
        assert row["min_ms"] <= row["p50_ms"] <= row["p90_ms"] <= row["p95_ms"] <= row["p99_ms"] <= row["max_ms"]
        assert row["min_ms"] <= row["mean_ms"] <= row["max_ms"]
        assert row["cv"] >= 0 and row["n_calls"] >= 3
        # images/s is images over the timed seconds, not calls
        assert row["images_per_s"] == pytest.approx(row["batch_size"] * row["n_calls"] / row["timed_s"])
        assert row["cold_start_s"] == pytest.approx(row["load_s"] + row["first_call_s"])
        assert row["cold_start_s"] > 0
        assert row["peak_mem_mb"] > row["peak_mem_delta_mb"] > 0
        assert row["flops_per_sample"] == MLP_FLOPS  # one count per checkpoint: the run dir's
        assert row["pct_of_peak"] > 0 and row["peak_key"] == "fp32_gflops"
        assert row["achieved_gflops"] == pytest.approx(MLP_FLOPS * row["images_per_s"] / 1e9)
        assert row["threads"] == 1 and row["device"] == "cpu"
        # generate(z) alone, timed on the host beside the end-to-end calls
        assert row["compute_timer"] == "host" and 0 < row["compute_p50_ms"] <= row["compute_p99_ms"]
    seen = {(r["backend"], r["precision"], r["model"].endswith(".onnx")) for r in rows}
    assert seen == {("torch", "fp32", False), ("onnxruntime", "fp32", True), ("onnxruntime", "fp16", True)}


def test_quality_is_measured_against_the_run_dir_fp32(tiny_result):
    by_kind = {(r["backend"], r["precision"]): r for r in tiny_result.results if r["batch_size"] == 1}
    reference = by_kind[("torch", "fp32")]
    assert reference["psnr_db"] is None and reference["max_level_diff"] == 0  # compared with itself
    onnx_fp32 = by_kind[("onnxruntime", "fp32")]
    assert onnx_fp32["quality_reference"] == reference["quality_reference"]
    assert onnx_fp32["max_level_diff"] <= 1  # the fp32 export gate
    fp16 = by_kind[("onnxruntime", "fp16")]
    assert fp16["psnr_db"] is None or fp16["psnr_db"] > 30
    assert all(r["fd"] is None for r in tiny_result.results)  # fd=False in this bench


def test_machine_peak_and_summary(tiny_result):
    machine = tiny_result.machine
    assert machine["threads"] == 1 and machine["cores_available"] >= 1
    assert {"numpy", "onnxruntime"} <= set(machine["versions"])
    assert machine["cpu_model"]
    cpu = tiny_result.peak["cpu"]
    assert cpu["fp32_gflops"] > 0 and cpu["copy_gbps"] > 0 and cpu["threads"] == 1
    assert math.isfinite(cpu["fp32_gflops"])
    assert any(line.startswith("fastest within the quality budget") for line in tiny_result.summary)
    assert any(line.startswith("lowest p99 latency at batch 1") for line in tiny_result.summary)
    assert tiny_result.settings["batch_sizes"] == [1, 4]


def test_concurrency_rows(tiny_result):
    rows = tiny_result.concurrency
    assert [r["mode"] for r in rows] == ["direct", "batcher"] * 3
    assert len(rows) == 3 * 2
    assert all(r["clients"] == 2 and r["requests_per_s"] > 0 for r in rows)
    assert all(r["mean_batch"] >= 1 for r in rows if r["mode"] == "batcher")


@pytest.mark.gpu
def test_cuda_compute_only_uses_device_events(bench_models):
    from ganedge.bench import BenchConfig, run_bench

    config = BenchConfig(models=(str(bench_models["run"]),), precisions=("fp32", "bf16"), batch_sizes=(1, 64),
                         duration_s=0.2, warmup_s=0.05, slices=2, device="cuda", cold_start=False,
                         peak_probe_s=0.05, compute_only=True)
    rows = run_bench(config).results
    assert {r["compute_timer"] for r in rows} == {"cuda-event"}
    # The engine alone is faster than the engine plus latents, copies and uint8 conversion.
    assert all(0 < r["compute_p50_ms"] <= r["p50_ms"] for r in rows)


@pytest.mark.gpu
def test_cuda_graphs_mode_is_a_row_of_its_own(bench_models):
    from ganedge.bench import BenchConfig, format_table, run_bench

    config = BenchConfig(models=(str(bench_models["run"]),), precisions=("fp32",), modes=("eager", "graphs"),
                         batch_sizes=(1, 8), duration_s=0.2, warmup_s=0.05, slices=2, device="cuda",
                         cold_start=False, peak_probe_s=0.05)
    result = run_bench(config)
    rows = result.results
    assert [(r["mode"], r["batch_size"]) for r in rows] == [("eager", 1), ("eager", 8), ("graphs", 1), ("graphs", 8)]
    for row in rows:
        assert row["compute_timer"] == "cuda-event" and row["compute_images_per_s"] > 0
        assert row["pct_of_roofline"] >= row["pct_of_peak"] > 0
    table = format_table(result)
    assert "gpu img/s" in table and " mode " in table.splitlines()[3]


def test_a_conditional_model_runs_every_part_of_the_bench(make_run_dir):
    """Timed calls, compute-only calls, cold start, quality and concurrency all feed class labels."""
    from ganedge.bench import BenchConfig, run_bench

    run = make_run_dir(arch="mlp", size=16, latent_dim=32, width=32, num_classes=3)
    config = BenchConfig(models=(str(run),), precisions=("fp32",), batch_sizes=(2,), duration_s=0.05,
                         warmup_s=0.01, min_calls=2, slices=1, device="cpu", threads=1, roofline=False,
                         compute_only=True, quality=True, quality_n=6, fd=False, concurrency=2)
    result = run_bench(config)
    (row,) = result.results
    assert row["images_per_s"] > 0 and row["compute_p50_ms"] > 0 and row["cold_start_s"] > 0
    assert row["max_level_diff"] == 0  # the run dir is its own quality reference
    assert [r["mode"] for r in result.concurrency] == ["direct", "batcher"]
    assert not any("cold start" in w for w in result.warnings), result.warnings
