"""`ganedge train` as users run it: a real run, its JSON summary, and one-line errors with exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ganedge.artifacts.run_dir import read_config
from tests.train.helpers import TINY_ARGS, run_cli


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("cli") / "run"
    result = run_cli("train", *TINY_ARGS, "--steps", "4", "--loss", "lsgan", "--diffaugment", "color",
                     "--dataset-option", "max_objects=2", "--conditional", "--json", "-o", str(run))
    assert result.returncode == 0, result.stderr
    return run, json.loads(result.stdout)


def _one_line_error(result, code=2):
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def test_json_summary_and_config(finished_run):
    run, summary = finished_run
    assert summary["step"] == 4 and summary["stopped_by"] == "steps" and summary["threads"] == 1
    assert summary["sample_grid"].endswith("samples/step-000004.png")
    config = read_config(run)
    assert config.train.loss == "lsgan" and config.train.diffaugment == "color"
    assert config.dataset_options == {"max_objects": 2}
    assert config.model.num_classes == 2 and config.model.image_shape == (3, 16, 16)
    assert config.model.arch == "dcgan" and config.model.g_width == 4


def test_non_empty_run_dir_is_refused(finished_run):
    run, _ = finished_run
    assert "--resume" in _one_line_error(run_cli("train", *TINY_ARGS, "--steps", "1", "-o", str(run)))


def test_resume_with_conflicting_arch_is_refused(finished_run):
    run, _ = finished_run
    message = _one_line_error(run_cli("train", "--arch", "mlp", "--resume", "--steps", "5", "-o", str(run)))
    assert "model.arch=mlp" in message and "dcgan" in message


def test_resume_with_conflicting_loss_or_dataset_is_refused(finished_run):
    run, _ = finished_run
    assert "train.loss=hinge" in _one_line_error(run_cli("train", "--resume", "--loss", "hinge", "-o", str(run)))
    assert "dataset=digits" in _one_line_error(run_cli("train", "--resume", "--dataset", "digits", "-o", str(run)))


def test_resume_without_checkpoint_is_refused(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"model": {"arch": "dcgan", "image_shape": [3, 16, 16]}}))
    assert "no complete checkpoint" in _one_line_error(run_cli("train", "--resume", "-o", str(run)))
    assert "not a ganedge run" in _one_line_error(run_cli("train", "--resume", "-o", str(tmp_path / "nothing")))


def test_bad_arch_is_a_usage_error(tmp_path):
    result = run_cli("train", "--arch", "transformer", "-o", str(tmp_path / "run"))
    assert result.returncode == 2 and "transformer" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_bad_dataset_path_is_one_line(tmp_path):
    message = _one_line_error(run_cli("train", "--dataset", str(tmp_path / "no-such-folder"), "-o", str(tmp_path / "r")))
    assert "no-such-folder" in message
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("args, needle", [
    (["--diffaugment", "colour"], "colour"),
    (["--betas", "0.5"], "--betas"),
    (["--dataset-option", "max_objects"], "KEY=VALUE"),
    (["--dataset-option", "wobble=3"], "wobble"),
    (["--arch", "dcgan", "--image-size", "24"], "24"),
])
def test_bad_options_are_one_line(tmp_path, args, needle):
    assert needle in _one_line_error(run_cli("train", "--steps", "1", *args, "-o", str(tmp_path / "run")))


def test_cli_module_imports_without_torch():
    code = "import sys, ganedge.cli.train; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "False", result.stderr
