"""fp16 and int8 variants: what they contain, that they pass their gates, where int8 is offered."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from ganedge.artifacts.onnx_meta import read_manifest
from ganedge.artifacts.onnx_meta import feeds
from ganedge.sdk.backends.onnxrt.loader import create_session
from ganedge.export.pipeline import ExportOptions, export_onnx
from ganedge.export.precision import last_layer_nodes
from ganedge.images import psnr, to_uint8_nhwc
from ganedge.latents import latents

FLOAT, FLOAT16, INT8, UINT8 = 1, 10, 3, 2


def variant(result, precision):
    return next(v for v in result.variants if v.precision == precision)


def images(path, seeds, labels=None):
    return create_session(path).session.run(None, feeds(latents(seeds, 64), labels))[0]


def test_fp16_has_half_weights_and_float_io(dcgan_all):
    result, folder = dcgan_all
    model = onnx.load(str(folder / "model.fp16.onnx"))
    assert {t.data_type for t in model.graph.initializer if t.data_type in (FLOAT, FLOAT16)} == {FLOAT16}
    assert model.graph.input[0].type.tensor_type.elem_type == FLOAT
    assert model.graph.output[0].type.tensor_type.elem_type == FLOAT
    assert read_manifest(model).precision == "fp16"
    gate = variant(result, "fp16").gate
    assert gate.passed and gate.images.psnr_db >= 40 and gate.stats.nonfinite == 0
    assert gate.tolerances == {"min_psnr": 40.0}


def test_int8_is_static_qdq_without_convtranspose_and_runs_on_plain_cpu(dcgan_all):
    result, folder = dcgan_all
    model = onnx.load(str(folder / "model.int8.onnx"))
    ops = {n.op_type for n in model.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "DepthToSpace"} <= ops and "ConvTranspose" not in ops
    assert all(n.domain in ("", "ai.onnx") for n in model.graph.node)  # no com.microsoft contrib ops
    assert any(t.data_type == INT8 and len(t.dims) == 4 for t in model.graph.initializer)  # int8 conv weights
    assert read_manifest(model).precision == "int8"
    seeds = list(range(200, 264))
    got, ref = images(folder / "model.int8.onnx", seeds), images(folder / "model.onnx", seeds)
    assert psnr(to_uint8_nhwc(ref), to_uint8_nhwc(got)) >= 30
    gate = variant(result, "int8").gate
    assert gate.passed and gate.images.psnr_db >= 30
    assert gate.fd["note"] == "skipped (--no-fd)" and gate.checks[-1].ok is None


def test_int8_keeps_the_pixel_layer_in_float(dcgan_all):
    _, folder = dcgan_all
    fp32 = onnx.load(str(folder / "model.onnx"))
    last = last_layer_nodes(fp32)
    assert len(last) == 1
    int8 = onnx.load(str(folder / "model.int8.onnx"))
    conv = next(n for n in int8.graph.node if n.name == last[0])
    weight = next(t for t in int8.graph.initializer if t.name == conv.input[1])
    assert weight.data_type == FLOAT  # not fed by a DequantizeLinear


def test_int8_asked_for_by_name_is_timed_and_written_whatever_its_speed(runs, tmp_path):
    result = export_onnx(runs["mlp_cond"], tmp_path / "m.onnx", ExportOptions(precisions=("int8",), fd=False))
    int8 = variant(result, "int8")
    speed = int8.to_dict()["int8_speed"]
    runtimes = {f["runtime"] for f in speed["figures"]}
    assert "onnxruntime" in runtimes and {f["batch"] for f in speed["figures"]} == {1, 64}
    assert all(f["fp32"] > 0 and f["int8"] > 0 and f["ratio"] == round(f["int8"] / f["fp32"], 3)
               for f in speed["figures"])
    assert speed["offered"] == (max(f["ratio"] for f in speed["figures"]) >= speed["margin"])
    assert int8.written == int8.gate.passed and int8.skipped is None  # asked for: only the gate decides
    if int8.written:
        recorded = read_manifest(onnx.load(str(int8.path))).extra["export"]["int8_speed"]
        assert recorded["figures"] == speed["figures"] and recorded["cpu"] == speed["cpu"]


def test_offering_int8_needs_a_clear_win_somewhere():
    from ganedge.export.int8_speed import OFFER_MARGIN, Int8Speed

    def verdict(*ratios):
        return Int8Speed(figures=[{"runtime": "r", "batch": 1, "ratio": r} for r in ratios]).offered

    assert verdict(0.8, OFFER_MARGIN) and not verdict(0.8, OFFER_MARGIN - 0.01) and not verdict()


def test_fp16_of_a_conditional_mlp(cond_exports):
    mlp = cond_exports["mlp"]
    fp16 = variant(mlp, "fp16")
    assert fp16.written and fp16.gate.passed and fp16.path.name == "mlp.fp16.onnx"
    labels = np.arange(9, dtype=np.int64)
    a = images(variant(mlp, "fp32").path, range(9), labels)
    b = images(fp16.path, range(9), labels)
    assert psnr(to_uint8_nhwc(a), to_uint8_nhwc(b)) >= 40


def test_side_by_side_speed_rows(dcgan_all, cond_exports):
    """int8 vs fp32 (and a conditional model, which gets labels fed too) timed side by side by the bench engine."""
    from ganedge.bench import BenchConfig, format_table, run_bench

    _, folder = dcgan_all
    models = {"fp32": folder / "model.onnx", "int8": folder / "model.int8.onnx",
              "mlp-cond": cond_exports["mlp"].variants[0].path}
    config = BenchConfig(models=tuple(str(p) for p in models.values()), batch_sizes=(1, 3), duration_s=0.04,
                         warmup_s=0.0, min_calls=1, slices=2, device="cpu", threads=1, cold_start=False,
                         roofline=False)
    result = run_bench(config)
    rows = result.results
    assert [(r["model"], r["batch_size"]) for r in rows] == [(p.name, b) for p in models.values() for b in (1, 3)]
    assert [r["precision"] for r in rows[::2]] == ["fp32", "int8", "fp32"]
    assert all(r["images_per_s"] > 0 and r["mean_ms"] > 0 and r["slices"] == 2 for r in rows)
    assert "img/s" in format_table(result)


def test_the_exporter_is_generic_over_architectures(runs, tmp_path):
    """SN-ResNet (Resize + residual adds, no ConvTranspose): same pipeline, nothing to rewrite, gates pass."""
    result = export_onnx(runs["resnet_cond"], tmp_path / "r.onnx", ExportOptions(precisions=("fp32", "int8"), fd=False))
    assert result.passed, result.failure_summary()
    fp32, int8 = result.variants
    assert fp32.written and int8.written and int8.rewrites == []
    model = onnx.load(str(int8.path))
    assert "Resize" in {n.op_type for n in model.graph.node} and read_manifest(model).inputs == ("z", "label")
