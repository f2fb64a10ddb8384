"""``ganedge eval`` end to end on real run directories (random weights; see conftest.py).

One test runs the command in a subprocess exactly as a user would; the others call the same
entry point (``ganedge.cli.main.main``) in-process, which saves a torch import per test.
"""

import json
import subprocess
import sys

import pytest

from ganedge.cli.main import main

REQUIRED = ("fd", "fd_floor", "kid", "precision", "recall", "n", "dataset", "feature_net")


def run_subprocess(*args):
    return subprocess.run([sys.executable, "-m", "ganedge", "eval", *map(str, args)], capture_output=True, text=True)


def run_inprocess(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main([*map(str, args)])
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def eval_json(capsys, *args):
    code, out, err = run_inprocess(capsys, "eval", *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_eval_run_dir_prints_one_json_object(eval_run_dir):
    run = eval_run_dir(arch="dcgan", size=32)
    result = run_subprocess(run, "--n", 64, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # exactly one object, nothing else on stdout
    for key in REQUIRED:
        assert key in data, key
    assert data["n"] == 64 and data["dataset"] == "scenes" and data["feature_net"] == "scenes-v1"
    assert data["fd"] > data["fd_floor"] > 0  # an untrained generator is far from the data
    assert data["kind"] == "run" and data["sample_seed"] == 0


def test_eval_is_deterministic_and_seeds_matter(eval_run_dir, capsys):
    run = eval_run_dir(arch="mlp", size=16)
    a = eval_json(capsys, run, "--n", 32)
    b = eval_json(capsys, run, "--n", 32)
    c = eval_json(capsys, run, "--n", 32, "--seed", 1000)
    assert a["fd"] == b["fd"] and a["fd_floor"] == c["fd_floor"] and a["fd"] != c["fd"]


def test_eval_conditional_run_and_table(eval_run_dir, capsys):
    run = eval_run_dir(arch="dcgan", size=16, num_classes=4)
    code, out, err = run_inprocess(capsys, "eval", run, "--n", 32)
    assert code == 0, err
    assert "scenes, n=32, feature net scenes-v1" in out
    for word in ("FD", "KID", "precision", "recall", "floor"):
        assert word in out


def test_eval_digits_run(eval_run_dir, capsys):
    data = eval_json(capsys, eval_run_dir(arch="dcgan", size=16, channels=1, dataset="digits"), "--n", 50)
    assert data["dataset"] == "digits" and data["feature_net"] == "digits-v1" and data["n"] == 50


def test_eval_onnx_model(eval_run_dir, tmp_path, capsys):
    """An exported model is sampled through the SDK; same seeds -> same FD as its run directory."""
    pytest.importorskip("onnxruntime")
    run = eval_run_dir(arch="dcgan", size=16)
    model = tmp_path / "model.onnx"
    code, _, err = run_inprocess(capsys, "export", "onnx", run, "-o", model)
    if code != 0:
        pytest.skip(f"ONNX export unavailable here: {err.strip()[-200:]}")
    from_run = eval_json(capsys, run, "--n", 32)
    from_onnx = eval_json(capsys, model, "--n", 32)
    assert from_onnx["dataset"] == "scenes" and from_onnx["kind"].startswith("onnx fp32")
    assert from_onnx["fd"] == pytest.approx(from_run["fd"], rel=0.05, abs=0.05)  # uint8 may differ by 1 level


@pytest.mark.parametrize("make_args,needle", [
    (lambda tmp: [tmp / "missing"], "does not exist"),
    (lambda tmp: [tmp], "not a ganedge run directory"),
])
def test_bad_model_path_exits_2_with_one_line(tmp_path, make_args, needle):
    result = run_subprocess(*make_args(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert needle in result.stderr and "Traceback" not in result.stderr


def test_dataset_without_feature_net_exits_2(eval_run_dir, tmp_path, capsys):
    import numpy as np

    np.savez(tmp_path / "mine.npz", images=np.zeros((40, 32, 32, 3), np.uint8))
    code, _, err = run_inprocess(capsys, "eval", eval_run_dir(arch="dcgan", size=32), "--dataset", tmp_path / "mine.npz",
                                 "--n", 10)
    assert code == 2 and "no built-in feature net fits" in err and err.count("\n") == 1


def test_a_run_dir_is_sampled_through_the_sdk(eval_run_dir, capsys):
    """eval is a thin layer over ``ganedge.sdk.load``: a run directory's images are the torch
    backend's, and a backend that cannot run a run directory is refused as sdk.load refuses it
    (eval used to sample run directories itself and ignore --backend for them)."""
    from ganedge import sdk
    from ganedge.artifacts.run_dir import read_config
    from ganedge.metrics import Evaluator

    run = eval_run_dir(arch="dcgan", size=16)
    code, _, err = run_inprocess(capsys, "eval", run, "--n", 32, "--backend", "onnxruntime")
    assert code == 2 and "cannot run a run dir artifact" in err and "ganedge export onnx" in err
    via_cli = eval_json(capsys, run, "--n", 32, "--seed", 7, "--backend", "torch", "--device", "cpu")
    config = read_config(run)
    with sdk.load(run, backend="torch", device="cpu") as g:
        images = g.sample(32, seed=7)
    direct = Evaluator(config.dataset, image_size=16, channels=3, n=32, seed=0,
                       dataset_options=dict(config.dataset_options), device="cpu").score(images)
    assert via_cli["fd"] == direct.fd and via_cli["kid"] == direct.kid
