"""backend="auto" for ONNX files on the CPU: the default keeps bit-identical images; precision= lets it
time the installed runtimes, cache the choice per model and CPU, and explain it with numbers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ganedge import sdk
from ganedge.errors import BadInputError
from ganedge.images import psnr
from ganedge.sdk.autoselect import MARGIN, choose

pytest.importorskip("openvino")


def _copy(model: Path, folder: Path, name: str) -> Path:
    """A private copy, so the cache entries a test sees are its own (the key is the file's sha256 + ...)."""
    target = folder / name
    shutil.copy(model, target)
    return target


def test_default_auto_is_onnxruntime_bit_identical_at_every_batch_size(models):
    with sdk.load(models["dcgan"]) as g:
        info = g.backend_info
        assert g.backend == "onnxruntime" and "bit-identical" in info["selected"]
        assert info["auto"] == {"candidates": ["onnxruntime fp32"]}
        whole = g.sample(10, seed=0)
        for batch_size in (1, 3, 7):
            np.testing.assert_array_equal(g.sample(10, seed=0, batch_size=batch_size), whole)
        np.testing.assert_array_equal(g.sample(1, seed=5)[0], whole[5])


def test_precision_auto_measures_then_reuses_the_cached_choice(models, tmp_path, private_user_cache):
    model = _copy(models["dcgan"], tmp_path, "auto.onnx")
    with sdk.load(model, precision="auto") as g:
        first = g.backend_info
        images = g.sample(16, seed=40)
    details = first["auto"]
    rates = details["images_per_s"]
    assert {"onnxruntime fp32", "openvino fp32"} <= set(rates) and not details["cached"]
    assert details["choice"] == choose(rates, "onnxruntime fp32") and 0 < details["seconds"] < 5
    assert details["batch_requested"] == 64 and 4 <= details["batch_measured"] <= 64
    chosen_backend, chosen_precision = details["choice"].split()
    assert (first["backend"], first["precision"]) == (chosen_backend, chosen_precision)
    assert "img/s" in first["selected"] and "measured" in first["selected"]
    assert Path(details["cache_file"]).is_relative_to(private_user_cache)
    stored = json.loads(Path(details["cache_file"]).read_text())
    assert stored["value"]["choice"] == details["choice"] and stored["key"]["threads"] == details["threads"]
    # Whatever won, the images stay within the gate of what was chosen.
    with sdk.load(model, backend="onnxruntime") as ref:
        expected = ref.sample(16, seed=40)
    if chosen_precision == "bf16":
        assert psnr(expected, images) >= 40.0
    else:
        assert int(np.abs(expected.astype(int) - images).max()) <= 1
    with sdk.load(model, precision="auto") as again:
        second = again.backend_info
    assert second["auto"]["cached"] and second["auto"]["choice"] == details["choice"]
    assert second["auto"]["images_per_s"] == rates and "cached measurement" in second["selected"]


def test_a_new_batch_size_or_thread_count_is_measured_anew(models, tmp_path):
    model = _copy(models["mlp"], tmp_path, "batch.onnx")
    with sdk.load(model, precision="fp32", batch_size=1, threads=1) as g:
        one = g.backend_info["auto"]
    assert not one["cached"] and one["batch_measured"] == 1 and one["threads"] == 1
    assert set(one["images_per_s"]) == {"onnxruntime fp32", "openvino fp32"}  # fp32: no bf16 candidate
    with sdk.load(model, precision="fp32", batch_size=1, threads=1) as g:
        assert g.backend_info["auto"]["cached"]
    with sdk.load(model, precision="fp32", batch_size=16, threads=1) as g:
        assert not g.backend_info["auto"]["cached"]


def test_the_choice_needs_a_clear_win_over_onnxruntime():
    ref = "onnxruntime fp32"
    assert choose({ref: 100.0, "openvino fp32": 100.0 * MARGIN - 1}, ref) == ref
    assert choose({ref: 100.0, "openvino fp32": 100.0 * MARGIN + 1}, ref) == "openvino fp32"
    assert choose({ref: 100.0, "openvino fp32": 90.0}, ref) == ref
    assert choose({"openvino fp32": 80.0, "openvino bf16": 85.0}, ref) == "openvino bf16"


def test_a_fixed_backend_is_never_second_guessed(models):
    with sdk.load(models["dcgan"], backend="onnxruntime") as g:
        assert g.backend == "onnxruntime" and "auto" not in g.backend_info
        assert g.backend_info["selected"].startswith("backend onnxruntime: requested")
    with sdk.load(models["dcgan"], backend="openvino") as g:
        assert g.backend == "openvino" and "auto" not in g.backend_info


def test_bf16_under_auto_is_openvino_bf16_or_refused(models):
    from ganedge.sdk.backends.openvino.loader import cpu_support

    if not cpu_support().native_bf16:
        with pytest.raises(BadInputError, match="natively"):
            sdk.load(models["mlp"], precision="bf16")
        return
    with sdk.load(models["mlp"], precision="bf16") as g:
        assert (g.backend, g.precision) == ("openvino", "bf16") and "only candidate" in g.backend_info["selected"]


@pytest.mark.parametrize("kwargs, match", [
    ({"precision": "fp16"}, "precision 'fp16'"),
    ({"precision": "auto", "batch_size": 0}, "batch_size"),
    ({"precision": "auto", "session_config": {}}, "option 'session_config' belongs to one runtime"),
    ({"precision": "auto", "device": "cuda"}, "picks among CPU runtimes"),
])
def test_bad_auto_arguments(models, kwargs, match):
    with pytest.raises(BadInputError, match=match):
        sdk.load(models["mlp"], **kwargs)


def test_an_unwritable_cache_only_costs_a_measurement(models, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("GANEDGE_CACHE_DIR", str(blocker))
    with sdk.load(models["mlp"], precision="fp32", batch_size=4) as g:
        details = g.backend_info["auto"]
        assert details["cache_file"] is None and not details["cached"]
        assert g.sample(2).shape == (2, 16, 16, 3)
