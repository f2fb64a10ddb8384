"""``ganedge inspect``: our files, foreign files, engines with and without sidecar, run dirs, bad files."""

from __future__ import annotations

import json

import onnx
import pytest

from ganedge.export.flops import count_flops
from ganedge.artifacts.manifest import Manifest, sidecar_path


def test_json_of_our_fp32_export(cli, dcgan_all):
    _, folder = dcgan_all
    path = folder / "model.onnx"
    result = cli("inspect", path, "--json")
    assert result.code == 0, result.err
    info = result.json()
    assert info["format"] == "onnx" and info["size_bytes"] == path.stat().st_size
    assert info["manifest"]["arch"] == "dcgan" and info["manifest"]["precision"] == "fp32"
    assert info["inputs"] == [{"name": "z", "dtype": "float32", "shape": ["batch", 64]}]
    assert info["outputs"] == [{"name": "image", "dtype": "float32", "shape": ["batch", 3, 16, 16]}]
    assert info["opset"] == {"ai.onnx": 20} and info["producer"].startswith("ganedge")
    assert info["op_histogram"]["ConvTranspose"] == 3 and info["nodes"] == sum(info["op_histogram"].values())
    assert info["parameters"] > 100_000 and info["parameter_dtypes"] == {"float32": info["parameters"]}
    assert info["flops_per_sample"] == count_flops(onnx.load(str(path))).total
    assert info["lint"]["ok"] and info["checker"] == "ok" and info["precision"] == "fp32"


def test_text_of_the_int8_variant(cli, dcgan_all):
    _, folder = dcgan_all
    result = cli("inspect", folder / "model.int8.onnx")
    assert result.code == 0
    for text in ("  precision        int8", "Inputs:    z float32 [batch, 64]", "FLOPs:", "per sample",
                 "QuantizeLinear", "NOT compatible", "qdq-zero-point"):
        assert text in result.out


def test_foreign_onnx_says_the_manifest_is_missing(cli, dcgan_all, tmp_path):
    _, folder = dcgan_all
    model = onnx.load(str(folder / "model.onnx"))
    del model.metadata_props[:]
    model.producer_name = "someone-else"
    onnx.save(model, str(tmp_path / "foreign.onnx"))
    info = cli("inspect", tmp_path / "foreign.onnx", "--json").json()
    assert info["manifest"] is None and "not exported by ganedge" in info["manifest_note"]
    assert info["precision"] == "fp32" and info["flops_per_sample"] > 0


def test_engine_shows_its_sidecar(cli, tmp_path):
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"\x00not-really-an-engine" * 10)
    manifest = Manifest(arch="dcgan", latent_dim=64, image_shape=(3, 16, 16), precision="fp16",
                        extra={"tensorrt_version": "10.3.0", "gpu_name": "NVIDIA H100", "compute_capability": "9.0",
                               "profile": {"min": 1, "opt": 16, "max": 64}})
    sidecar_path(engine).write_text(manifest.to_json())
    info = cli("inspect", engine, "--json").json()
    assert info["format"] == "tensorrt" and info["manifest"]["tensorrt_version"] == "10.3.0"
    assert info["manifest"]["profile"] == {"min": 1, "opt": 16, "max": 64}
    sidecar_path(engine).unlink()
    bare = cli("inspect", engine, "--json").json()
    assert bare["manifest"] is None and "no sidecar manifest" in bare["manifest_note"]


def test_run_directory(cli, runs):
    info = cli("inspect", runs["mlp_cond"], "--json").json()
    assert info["format"] == "run" and info["arch"] == "mlp" and info["num_classes"] == 10
    assert info["train_step"] == 7 and set(info["weights"]["parameters"]) == {"G", "G_ema", "D"}


def test_a_bad_manifest_is_reported_not_fatal(cli, dcgan_all, tmp_path):
    _, folder = dcgan_all
    model = onnx.load(str(folder / "model.onnx"))
    model.metadata_props[0].value = json.dumps({"format": "ganedge/99"})
    onnx.save(model, str(tmp_path / "odd.onnx"))
    info = cli("inspect", tmp_path / "odd.onnx", "--json").json()
    assert info["manifest"] is None and "invalid" in info["manifest_note"]


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    (b"", "empty"),
    (b"GIF89a not a model", "not an ONNX model"),
    ("truncate", "truncated"),
])
def test_bad_files(cli, dcgan_all, tmp_path, content, message):
    path = tmp_path / "bad.onnx"
    if content == "truncate":
        data = (dcgan_all[1] / "model.onnx").read_bytes()
        path.write_bytes(data[: len(data) - 1000])
    elif content is not None:
        path.write_bytes(content)
    result = cli("inspect", path)
    assert result.code == 2 and message in result.err and result.err.count("\n") == 1


def test_unsafe_external_data_is_refused(cli, tmp_path, external_model):
    folder = tmp_path / "models"
    folder.mkdir()
    (tmp_path / "secret.bin").write_bytes(bytes(16))
    result = cli("inspect", external_model(folder, "../secret.bin"))
    assert result.code == 2 and "outside the model's folder" in result.err


def _inspect_without_onnx(path) -> dict:
    """``ganedge inspect --json`` in a process where onnx (and torch) cannot be imported, as in the light install."""
    import subprocess
    import sys

    code = ("import sys\n"
            "for name in ('onnx', 'torch', 'onnxruntime'): sys.modules[name] = None\n"
            "from ganedge.cli.main import main\n"
            f"main(['inspect', {str(path)!r}, '--json'])\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_without_onnx_everything_but_checker_and_lint_is_the_same(cli, dcgan_all, cond_exports):
    _, folder = dcgan_all
    for path in (folder / "model.int8.onnx", cond_exports["mlp"].variants[0].path):
        light, full = _inspect_without_onnx(path), cli("inspect", path, "--json").json()
        assert light.pop("checker") is None and light.pop("lint") is None
        assert light.pop("unavailable") == {"checker": "onnx.checker needs onnx (pip install 'ganedge[train]')",
                                            "lint": "the TensorRT lint needs onnx (pip install 'ganedge[train]')"}
        assert full.pop("checker") == "ok" and full.pop("lint")["target"]
        assert light == full


def test_the_light_reader_agrees_with_onnx_on_io_and_parameters(cli, dcgan_all):
    import numpy as np
    from onnx import numpy_helper

    from ganedge.export.check import io_signature

    _, folder = dcgan_all
    for path in (folder / "model.onnx", folder / "model.fp16.onnx", folder / "model.int8.onnx"):
        info, model = cli("inspect", path, "--json").json(), onnx.load(str(path))
        assert {k: info[k] for k in ("inputs", "outputs")} == io_signature(model)
        assert info["parameter_bytes"] == sum(numpy_helper.to_array(t).nbytes for t in model.graph.initializer)
        assert info["nodes"] == len(model.graph.node) and info["ir_version"] == model.ir_version
        assert np.isclose(info["size_bytes"], path.stat().st_size)
