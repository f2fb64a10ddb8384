"""The fp32 export: contract (names, dtypes, dynamic batch), manifest round trip, EMA switch."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from ganedge.export.check import check_io_contract, check_model, external_tensors
from ganedge.artifacts.onnx_meta import read_manifest
from ganedge.artifacts.onnx_meta import feeds
from ganedge.sdk.backends.onnxrt.loader import create_session
from ganedge.export.pipeline import ExportOptions, export_onnx
from ganedge.models.load import load_source
from ganedge.export.torch_export import export_generator
from ganedge.latents import latents
from ganedge.artifacts.manifest import ONNX_METADATA_KEY, Manifest, sha256_file
from ganedge.artifacts.run_dir import WEIGHTS_FILE
from ganedge.models.load import load_generator


def torch_images(run, seeds, labels=None, ema=True):
    g, config, _ = load_generator(run, ema=ema)
    with torch.no_grad():
        z = torch.from_numpy(latents(seeds, config.model.latent_dim))
        return g(z, None if labels is None else torch.from_numpy(labels)).numpy()


@pytest.mark.parametrize("batch", [1, 7, 64])
def test_dynamic_batch_runs_and_matches_pytorch(dcgan_all, runs, batch):
    _, folder = dcgan_all
    session = create_session(folder / "model.onnx").session
    seeds = list(range(100, 100 + batch))
    got = session.run(None, feeds(latents(seeds, 64), None))[0]
    assert got.shape == (batch, 3, 16, 16) and got.dtype == np.float32
    assert np.max(np.abs(got - torch_images(runs["dcgan"], seeds))) <= 1e-4


def test_conditional_graph_contract(cond_exports, runs):
    for name, run in (("dcgan", runs["dcgan_cond"]), ("mlp", runs["mlp_cond"])):
        variant = cond_exports[name].variants[0]
        model = onnx.load(str(variant.path))
        manifest = read_manifest(model)
        assert manifest.inputs == ("z", "label") and manifest.num_classes == 10
        check_io_contract(model, manifest)  # z float32 [batch, 64], label int64 [batch], image [batch, 3, 16, 16]
        check_model(model)
        labels = np.arange(7, dtype=np.int64) % 10
        got = create_session(model).session.run(None, feeds(latents(range(7), 64), labels))[0]
        assert np.max(np.abs(got - torch_images(run, list(range(7)), labels))) <= 1e-4


def test_one_self_contained_file_with_names_and_manifest(dcgan_all, runs):
    result, folder = dcgan_all
    model = onnx.load(str(folder / "model.onnx"))
    assert external_tensors(model) == []
    assert [i.name for i in model.graph.input] == ["z"] and [o.name for o in model.graph.output] == ["image"]
    assert {o.version for o in model.opset_import if o.domain == ""} == {20}
    manifest = read_manifest(model)
    assert manifest == Manifest.from_json(manifest.to_json())  # a lossless round trip
    assert (manifest.arch, manifest.latent_dim, manifest.image_shape) == ("dcgan", 64, (3, 16, 16))
    assert (manifest.num_classes, manifest.precision, manifest.output, manifest.output_range) == (0, "fp32", "image",
                                                                                                  (-1.0, 1.0))
    assert manifest.source_sha256 == sha256_file(runs["dcgan"] / WEIGHTS_FILE)
    assert (manifest.train_step, manifest.dataset) == (7, "scenes")
    assert manifest.extra["export"]["validated"] and manifest.extra["export"]["weights"] == "G_ema"
    # the same text is what onnxruntime (and so the SDK) sees
    text = create_session(folder / "model.onnx").session.get_modelmeta().custom_metadata_map[ONNX_METADATA_KEY]
    assert Manifest.from_json(text) == manifest
    assert {v.precision: v.written for v in result.variants} == {"fp32": True, "fp16": True, "int8": True}


def test_no_ema_exports_the_raw_generator(runs, tmp_path):
    result = export_onnx(runs["dcgan"], tmp_path / "raw.onnx", ExportOptions(ema=False))
    assert result.passed and result.weights == "G"
    session = create_session(tmp_path / "raw.onnx").session
    got = session.run(None, feeds(latents(range(4), 64), None))[0]
    assert np.max(np.abs(got - torch_images(runs["dcgan"], list(range(4)), ema=False))) <= 1e-4
    assert np.max(np.abs(got - torch_images(runs["dcgan"], list(range(4)), ema=True))) > 1e-2


def test_export_generator_alone_is_a_step(runs):
    src = load_source(runs["mlp_cond"])
    generator, manifest = src.generator, src.manifest
    model = export_generator(generator, manifest, opset=18)
    assert {o.version for o in model.opset_import if o.domain == ""} == {18}
    check_io_contract(model, manifest)
