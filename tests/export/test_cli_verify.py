"""``ganedge verify``: same generator -> exit 0; different generators -> exit 1 naming the worst seeds."""

from __future__ import annotations

import pytest


def test_run_dir_against_its_onnx_export(cli, runs, dcgan_all):
    _, folder = dcgan_all
    result = cli("verify", runs["dcgan"], folder / "model.onnx", "--seeds", "0-99", "--json")
    assert result.code == 0, result.err
    report = result.json()
    assert report["passed"] and report["n"] == 100 and report["seeds"] == "0-99"
    assert report["tolerances"] == {"atol": 1e-4}
    assert (report["a"]["backend"], report["b"]["backend"]) == ("torch", "onnxruntime")
    assert report["error"]["max_abs"] <= 1e-4 and report["max_uint8_diff"] <= 1
    assert report["min_passing"]["atol"] == report["error"]["max_abs"]
    assert len(report["error"]["max_abs_at"]) == 4
    assert [row["seed"] for row in report["per_image"]] == list(range(100))
    assert max(row["max_abs"] for row in report["per_image"]) == report["error"]["max_abs"]


def test_identical_file_is_identical(cli, dcgan_all):
    _, folder = dcgan_all
    result = cli("verify", folder / "model.onnx", folder / "model.onnx", "--seeds", "3,5,7-9")
    assert result.code == 0
    assert "PSNR inf dB (identical)" in result.out and "max 0 at" in result.out and "5 seeds (3,5,7-9)" in result.out


def test_int8_gets_the_int8_tolerance_by_default(cli, dcgan_all):
    _, folder = dcgan_all
    report = cli("verify", folder / "model.onnx", folder / "model.int8.onnx", "--seeds", "0-63", "--json").json()
    assert report["passed"] and report["tolerances"] == {"min_psnr": 30.0} and report["b"]["precision"] == "int8"
    strict = cli("verify", folder / "model.onnx", folder / "model.int8.onnx", "--seeds", "0-63", "--atol", "1e-6")
    assert strict.code == 1 and "max abs error" in strict.err


def test_different_models_fail_with_worst_seeds(cli, runs):
    result = cli("verify", runs["dcgan"], runs["dcgan_other"], "--seeds", "0-31", "--json")
    assert result.code == 1
    report = result.json()
    assert not report["passed"] and len(report["worst_seeds"]) == 5
    worst = report["worst_seeds"]
    assert [w["psnr_db"] for w in worst] == sorted(w["psnr_db"] for w in worst)
    assert "worst seeds" in result.err and str(worst[0]["seed"]) in result.err and result.err.count("\n") == 1


def test_text_report_is_polygraphy_like(cli, runs):
    result = cli("verify", runs["dcgan"], runs["dcgan_other"], "--seeds", "0-7", "--min-psnr", "20")
    for text in ("absolute error: mean", "median", "relative error:", "worst seeds:", "minimum tolerance that would pass"):
        assert text in result.out
    assert result.code in (0, 1)


def test_models_of_different_shapes_are_refused(cli, runs):
    result = cli("verify", runs["dcgan"], runs["mlp_cond"], "--seeds", "0-3")
    assert result.code == 2 and "different kinds of model" in result.err


@pytest.mark.parametrize("args, message", [
    (("--seeds", "9-1"), "runs backwards"),
    (("--atol", "-1"), "-1"),
])
def test_bad_options(cli, runs, args, message):
    result = cli("verify", runs["dcgan"], runs["dcgan"], *args)
    assert result.code == 2 and message in result.err


def test_missing_artifact(cli, runs, tmp_path):
    result = cli("verify", runs["dcgan"], tmp_path / "nope.onnx")
    assert result.code == 2 and "does not exist" in result.err
