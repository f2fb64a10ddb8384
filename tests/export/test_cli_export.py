"""``ganedge export onnx`` end to end: exit codes, JSON, files written or not, bad input."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys

import pytest


def test_help_has_examples_and_typed_options(cli):
    result = cli("export", "onnx", "--help")
    assert result.code == 0
    for text in ("Examples:", "--precision fp32|fp16|int8|all", "--atol FLOAT", "--keep-failed", "--ema / --no-ema",
                 "[default: fp32]"):
        assert text in result.out


def test_all_on_an_mlp_offers_int8_only_where_it_measured_faster(cli, runs, tmp_path):
    result = cli("export", "onnx", runs["mlp_cond"], "-o", tmp_path / "mlp.onnx", "--precision", "all", "--no-fd",
                 "--json")
    assert result.code in (0, 1), result.err
    report = result.json()  # stdout holds exactly one JSON object; the human report went to stderr
    assert report["arch"] == "mlp" and report["opset"] == 20
    fp32, fp16, int8 = report["variants"]
    assert (fp32["written"], fp16["written"]) == (True, True)
    assert fp32["gate"]["tolerances"] == {"atol": 1e-4, "max_uint8_diff": 1} and fp32["lint"]["ok"]
    speed = int8["int8_speed"]
    assert speed["figures"] and "int8 vs fp32 images/s on this" in result.err and "-[✓]" in result.err
    if speed["offered"]:  # faster somewhere here: built and gated like every variant
        assert int8["skipped"] is None and int8["gate"] is not None and int8["written"] == int8["passed"]
        assert result.code == (0 if int8["passed"] else 1)
    else:  # nowhere faster: left out with the measurement, and the export still passes
        assert int8["skipped"].startswith("not offered") and not int8["written"] and int8["gate"] is None
        assert result.code == 0 and "skipping int8" in result.err
        assert sorted(p.name for p in tmp_path.iterdir()) == ["mlp.fp16.onnx", "mlp.onnx"]
    assert oct((tmp_path / "mlp.onnx").stat().st_mode & 0o777) != oct(0o600)  # readable by others, like any output


def test_impossible_atol_fails_with_exit_1_and_writes_nothing(cli, runs, tmp_path):
    result = cli("export", "onnx", runs["dcgan_cond"], "-o", tmp_path / "m.onnx", "--atol", "0")
    assert result.code == 1
    assert "values not close enough, max diff:" in result.out and "smallest tolerance that would pass" in result.out
    assert result.err.count("\n") == 1 and result.err.startswith("error: fp32 failed its gate")
    assert list(tmp_path.iterdir()) == []


def test_failing_variant_is_dropped_and_the_passing_one_kept(cli, runs, tmp_path):
    result = cli("export", "onnx", runs["dcgan_cond"], "-o", tmp_path / "m.onnx", "--precision", "fp32,fp16",
                 "--min-psnr", "500", "--json")
    assert result.code == 1
    report = result.json()
    assert [(v["precision"], v["passed"], v["written"]) for v in report["variants"]] == [("fp32", True, True),
                                                                                      ("fp16", False, False)]
    assert report["variants"][1]["gate"]["min_passing"]["min_psnr"] < 500
    assert "fp16 failed its gate (would pass with min_psnr=" in result.err
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_unknown_architecture(cli, runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs["dcgan"], run)
    config = json.loads((run / "config.json").read_text())
    config["model"]["arch"] = "foo"
    (run / "config.json").write_text(json.dumps(config))
    result = cli("export", "onnx", run, "-o", tmp_path / "m.onnx")
    assert result.code == 2 and "unknown architecture 'foo'" in result.err and result.err.count("\n") == 1
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing", "does not exist"),
    (lambda p: (p / "file.txt").write_text("x") and p / "file.txt", "not a ganedge run directory"),
    (lambda p: p, "not a ganedge run directory"),
])
def test_not_a_run_dir(cli, tmp_path, make, message):
    source = make(tmp_path)
    result = cli("export", "onnx", source, "-o", tmp_path / "out" / "m.onnx")
    assert result.code == 2 and message in result.err
    assert not (tmp_path / "out").exists()


def test_damaged_weights(cli, runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs["dcgan"], run)
    weights = run / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    result = cli("export", "onnx", run, "-o", tmp_path / "m.onnx")
    assert result.code == 2 and "damaged" in result.err


def test_output_under_a_regular_file(cli, runs, tmp_path):
    (tmp_path / "blocker").write_text("I am a file")
    result = cli("export", "onnx", runs["dcgan"], "-o", tmp_path / "blocker" / "sub" / "m.onnx")
    assert result.code == 2 and "is a file, not a folder" in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def test_output_is_a_folder(cli, runs, tmp_path):
    result = cli("export", "onnx", runs["dcgan"], "-o", tmp_path)
    assert result.code == 2


def test_bad_precision_is_a_usage_error(cli, runs, tmp_path):
    result = cli("export", "onnx", runs["dcgan"], "-o", tmp_path / "m.onnx", "--precision", "int4")
    assert result.code == 2 and "choose from fp32, fp16, int8" in result.err


def _limit_file_size():
    limit = 64 * 1024  # smaller than any model, larger than anything else the process writes
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_disk_full_leaves_no_partial_file(runs, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run([sys.executable, "-m", "ganedge", "export", "onnx", str(runs["dcgan"]), "-o",
                             str(out / "model.onnx"), "--no-validate"], capture_output=True, text=True,
                            preexec_fn=_limit_file_size, env=env, timeout=300)
    assert result.returncode == 2, result.stderr
    assert "cannot write" in result.stderr and "Traceback" not in result.stderr
    assert list(out.iterdir()) == []  # neither model.onnx nor its temporary file
