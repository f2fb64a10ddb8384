"""The validation gate fails loudly and writes nothing; its numbers mean what they say."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ganedge.export.torch_export as torch_export
from ganedge.export.compare import error_stats, image_stats
from ganedge.export.pipeline import ExportOptions, export_onnx
from ganedge.export.settings import Gates
from ganedge.export.validate import Check, grade_fd


def corrupt_one_weight(monkeypatch, scale=1.5):
    """The real exporter, then one weight of the exported graph changed: what a broken export looks like."""
    real = torch_export.export_generator

    def broken(generator, manifest, opset):
        from onnx import numpy_helper

        model = real(generator, manifest, opset)
        init = max(model.graph.initializer, key=lambda t: np.prod(t.dims))
        array = numpy_helper.to_array(init).copy()
        array.flat[0] = array.flat[0] * scale + 0.5
        init.CopyFrom(numpy_helper.from_array(array, init.name))
        return model

    monkeypatch.setattr(torch_export, "export_generator", broken)


def test_corrupted_weight_fails_the_gate_and_nothing_is_written(runs, tmp_path, monkeypatch):
    corrupt_one_weight(monkeypatch)
    result = export_onnx(runs["dcgan"], tmp_path / "model.onnx", ExportOptions(precisions=("fp32", "fp16", "int8")))
    assert not result.passed
    assert list(tmp_path.iterdir()) == []  # not even a temporary file
    fp32 = result.variants[0]
    assert fp32.failed and not fp32.written
    assert fp32.gate.stats.max_abs > 1e-4
    assert [v.skipped for v in result.variants[1:]] == ["the fp32 graph failed its gate"] * 2
    lines = fp32.gate.report_lines("model.onnx")
    assert any(line.strip().startswith("-[x]") and "values not close enough, max diff:" in line for line in lines)
    assert any("smallest tolerance that would pass: --atol" in line for line in lines)
    assert "fp32 failed its gate" in result.failure_summary()


def test_a_variant_alone_still_needs_a_passing_fp32_graph(runs, tmp_path, monkeypatch):
    corrupt_one_weight(monkeypatch)
    result = export_onnx(runs["dcgan"], tmp_path / "model.fp16.onnx", ExportOptions(precisions=("fp16",)))
    assert not result.passed and list(tmp_path.iterdir()) == []
    base, fp16 = result.variants
    assert (base.precision, base.requested, base.failed, fp16.skipped) == ("fp32", False, True,
                                                                          "the fp32 graph failed its gate")


def test_keep_failed_writes_the_failing_model(runs, tmp_path, monkeypatch):
    corrupt_one_weight(monkeypatch)
    result = export_onnx(runs["dcgan"], tmp_path / "model.onnx", ExportOptions(keep_failed=True))
    assert not result.passed and result.variants[0].written
    assert (tmp_path / "model.onnx").stat().st_size > 0
    assert "kept anyway" in result.failure_summary()


def test_passing_report_reads_like_optimum(dcgan_all):
    result, _ = dcgan_all
    lines = result.variants[0].gate.report_lines("model.onnx")
    assert lines[0].startswith("Validating model.onnx (fp32) against PyTorch on seeds 0-71 (batch sizes 1, 7, 64)")
    assert sum("all values close (atol: 0.0001)" in line and "-[✓]" in line for line in lines) == 3
    gate = result.variants[0].gate
    assert [b["batch_size"] for b in gate.batches] == [1, 7, 64]
    assert gate.min_passing()["atol"] == gate.stats.max_abs <= 1e-4


def test_fd_check_grades_the_increase():
    gates = Gates()
    from ganedge.export.validate import GateResult

    def fresh():
        zeros = np.zeros((2, 3, 4, 4), np.float32)
        return GateResult("int8", "PyTorch", {}, error_stats(zeros, zeros),
                          image_stats(np.zeros((2, 4, 4, 3), np.uint8), np.zeros((2, 4, 4, 3), np.uint8)), [],
                          [{"seed": 0, "psnr_db": math.inf}], [Check(True, "PSNR ok")])

    ok, bad, unmeasured = fresh(), fresh(), fresh()
    grade_fd(ok, {"fd": 10.5, "fd_reference": 10.0, "increase": 0.05, "note": ""}, gates)
    grade_fd(bad, {"fd": 12.0, "fd_reference": 10.0, "increase": 0.2, "note": ""}, gates)
    grade_fd(unmeasured, {"fd": None, "fd_reference": None, "increase": None, "note": "no feature net"}, gates)
    assert ok.passed and not bad.passed and unmeasured.passed
    assert "+20.0% > +10%" in bad.checks[-1].text
    assert unmeasured.checks[-1].line().strip().startswith("-[-] FD not measured: no feature net")
    assert bad.min_passing()["max_fd_increase"] == 0.2


def test_error_stats_locate_the_max_and_name_the_tolerance():
    ref = np.zeros((2, 1, 3, 3), np.float32)
    cand = ref.copy()
    cand[1, 0, 2, 1] = 0.25
    cand[0, 0, 0, 0] = -0.1
    stats = error_stats(ref + 1, cand + 1)
    assert stats.max_abs == pytest.approx(0.25) and stats.max_abs_at == (1, 0, 2, 1)
    assert stats.min_atol == stats.max_abs and stats.max_rel == pytest.approx(0.25)
    assert stats.median_abs == 0 and stats.mean_abs == pytest.approx(0.35 / 18)


def test_nan_is_the_worst_error():
    ref = np.zeros((1, 1, 2, 2), np.float32)
    cand = ref.copy()
    cand[0, 0, 1, 1] = np.nan
    stats = error_stats(ref, cand)
    assert stats.nonfinite == 1 and math.isinf(stats.max_abs) and stats.max_abs_at == (0, 0, 1, 1)
    assert stats.to_dict()["max_abs"] is None  # JSON has no inf


def test_image_stats_per_image_and_worst_seeds():
    a = np.zeros((3, 2, 2, 3), np.uint8)
    b = a.copy()
    b[2, 0, 0, 0] = 10
    b[1, 0, 0, 0] = 1
    stats = image_stats(a, b)
    assert stats.max_level == 10 and list(stats.per_image_max_level) == [0, 1, 10]
    assert math.isinf(stats.per_image_psnr[0]) and stats.per_image_psnr[2] < stats.per_image_psnr[1]
    assert [w["seed"] for w in stats.worst([7, 8, 9], k=2)] == [9, 8]


def test_fd_is_measured_with_the_real_evaluator_or_says_why(dcgan_all):
    from ganedge.sdk.backends.onnxrt.loader import create_session
    from ganedge.export.quality import fd_comparison

    result, folder = dcgan_all
    fd = fd_comparison(create_session(folder / "model.onnx").session, create_session(folder / "model.int8.onnx").session, result.manifest,
                       n=64)
    if fd["increase"] is None:  # e.g. the dataset's feature net is not installed
        assert fd["note"] and fd["fd"] is None
    else:
        assert fd["n"] == 64 and fd["fd"] > 0 and fd["fd_reference"] > 0 and fd["note"] == ""
        assert fd["increase"] == pytest.approx((fd["fd"] - fd["fd_reference"]) / fd["fd_reference"])
