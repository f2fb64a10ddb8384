"""OpenVINO in ganedge bench: its rows beside onnxruntime's, each against the peak of its precision,
and the peaks per precision (with the CPU's matrix units and flags) in the machine block."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ganedge.bench import BenchConfig, format_table, run_bench
from ganedge.bench.variants import expand_variants, resolve_artifacts

pytest.importorskip("openvino")


@pytest.fixture(scope="module")
def int8_mlp(bench_models, tmp_path_factory) -> Path:
    """Our static QDQ int8 recipe applied to the bench's MLP (every layer quantized, few calibration batches)."""
    import onnx

    from ganedge.artifacts.onnx_meta import read_manifest, set_manifest
    from ganedge.export.precision import to_int8
    from ganedge.export.settings import settings_for

    model = onnx.load(str(bench_models["fp32"]))
    manifest = read_manifest(model)
    settings = dataclasses.replace(settings_for("mlp"), calibration_samples=32, exclude_last_layer_from_int8=False)
    quantized = to_int8(model, manifest, settings)
    set_manifest(quantized, manifest.replace(precision="int8"))
    path = tmp_path_factory.mktemp("bench-int8") / "mlp.int8.onnx"
    onnx.save(quantized, str(path))
    return path


def _native_bf16() -> bool:
    from ganedge.cpu_features import cpu_features

    return cpu_features().native_bf16


def test_openvino_rows_only_when_asked_for(bench_models, int8_mlp):
    artifacts = resolve_artifacts([bench_models["fp32"], int8_mlp])
    default = expand_variants(artifacts, (), ("fp32", "bf16"))
    assert {v.backend for v in default} == {"onnxruntime"}
    both = expand_variants(artifacts, ("onnxruntime", "openvino"), ("fp32", "bf16"))
    openvino = sorted((v.artifact.name, v.requested_precision) for v in both if v.runtime == "openvino")
    assert openvino == sorted([("mlp.onnx", "fp32"), ("mlp.int8.onnx", "auto")]
                              + ([("mlp.onnx", "bf16")] if _native_bf16() else []))


def test_openvino_rows_beside_onnxruntime_against_the_peak_of_their_precision(bench_models, int8_mlp):
    config = BenchConfig(models=(str(bench_models["fp32"]), str(int8_mlp)), backends=("onnxruntime", "openvino"),
                         precisions=("fp32", "bf16"), batch_sizes=(1, 4), duration_s=0.1, warmup_s=0.02, min_calls=3,
                         slices=2, device="cpu", threads=1, cold_start=False, peak_probe_s=0.02)
    result = run_bench(config)
    rows = {(r["artifact"].split("/")[-1], r["backend"], r["precision"], r["batch_size"]): r for r in result.results}
    expected = {("mlp.onnx", "onnxruntime", "fp32"), ("mlp.onnx", "openvino", "fp32"),
                ("mlp.int8.onnx", "onnxruntime", "int8"), ("mlp.int8.onnx", "openvino", "int8")}
    if _native_bf16():
        expected.add(("mlp.onnx", "openvino", "bf16"))
    assert {key[:3] for key in rows} == expected
    cpu = result.peak["cpu"]
    assert cpu["matrix_units"] and "openvino" in cpu["fp32_by_library"] and "openvino" in cpu["int8_by_library"]
    assert cpu["int8_gflops"] == max(cpu["int8_by_library"].values())
    for (name, backend, precision, batch), row in rows.items():
        assert row["peak_key"] == f"{precision}_gflops" and row["pct_of_peak"] > 0, (name, backend, precision)
    if _native_bf16():
        assert "openvino" in cpu["bf16_by_library"]
    table = format_table(result)
    assert "matrix units:" in table and "flags " in table and "int8 " in table
    assert any("x onnxruntime fp32" in line for line in result.summary)


def test_openvino_cold_start_runs_in_its_own_process(bench_models):
    config = BenchConfig(models=(str(bench_models["fp32"]),), backends=("openvino",), precisions=("fp32",),
                         batch_sizes=(2,), duration_s=0.05, warmup_s=0.0, min_calls=2, slices=1, device="cpu",
                         threads=1, roofline=False)
    (row,) = run_bench(config).results
    assert row["backend"] == "openvino" and row["cold_start_s"] > 0 and row["peak_mem_mb"] > 0
