"""The site's ganedge.js under Node: images equal the Python SDK's within one uint8 level.

Two runtimes behind the same JavaScript: onnxruntime-node (native CPU kernels) and
onnxruntime-web's WebAssembly build (the page's runtime) running in Node.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.web.conftest import render_js

SEEDS = list(range(256))


def _compare(js: np.ndarray, py: np.ndarray, what: str) -> None:
    assert js.shape == py.shape, f"{what}: {js.shape} vs {py.shape}"
    diff = np.abs(js.astype(np.int16) - py.astype(np.int16))
    assert diff.max() <= 1, f"{what}: max difference {diff.max()} levels at {np.unravel_index(diff.argmax(), diff.shape)}"


@pytest.mark.parametrize("runtime", ["node", "web"])
def test_unconditional_seeds_0_255(node, node_modules, sites, reference, runtime, tmp_path):
    js = render_js(node, runtime, sites["uncond"], SEEDS, tmp_path)
    _compare(js, reference["uncond"].sample(256, seed=0), f"onnxruntime-{runtime}")


@pytest.mark.parametrize("runtime", ["node", "web"])
def test_conditional_seeds_0_255(node, node_modules, sites, reference, runtime, tmp_path):
    labels = [s % 10 for s in SEEDS]
    js = render_js(node, runtime, sites["cond"], SEEDS, tmp_path, labels=labels)
    _compare(js, reference["cond"].sample(256, seed=0, labels=labels), f"onnxruntime-{runtime}, labels seed % 10")


def test_truncation_and_huge_seeds(node, node_modules, sites, reference, tmp_path):
    seeds = [0, 2**32 + 1, 2**53 + 1, 2**63 - 1]
    js = render_js(node, "node", sites["uncond"], seeds, tmp_path, truncation=0.6)
    _compare(js, reference["uncond"].sample_seeds(seeds, truncation=0.6), "psi 0.6, seeds up to 2**63-1")


@pytest.mark.parametrize("labels, message", [
    (None, "conditional on 10 classes"),
    (10, "out of range"),
    ("seven", None),  # a class name works
    ("dog", "unknown class"),
])
def test_labels_checked_like_the_sdk(node, node_modules, sites, reference, tmp_path, labels, message):
    if message is None:
        js = render_js(node, "node", sites["cond"], [5], tmp_path, labels=labels)
        _compare(js, reference["cond"].sample(1, seed=5, labels=7), "class 'seven'")
        return
    with pytest.raises(AssertionError, match=message):  # render_js asserts on node's exit code and stderr
        render_js(node, "node", sites["cond"], [5], tmp_path, labels=labels)


def test_model_without_manifest_is_refused_in_js(node, node_modules, sites, tmp_path):
    import onnx

    model = onnx.load(str(sites["uncond"] / "model.onnx"))
    del model.metadata_props[:]
    bare = tmp_path / "site"
    bare.mkdir()
    for name in ("ganedge.js", "site.json"):
        (bare / name).write_bytes((sites["uncond"] / name).read_bytes())
    onnx.save(model, str(bare / "model.onnx"))
    with pytest.raises(AssertionError, match="has no ganedge manifest"):
        render_js(node, "node", bare, [0], tmp_path)


def test_unconditional_model_refuses_labels(node, node_modules, sites, tmp_path):
    with pytest.raises(AssertionError, match="unconditional"):
        render_js(node, "node", sites["uncond"], [0], tmp_path, labels=3)


def test_bad_seeds_are_refused(node, node_modules, sites, tmp_path):
    for bad in ("-1", str(2**63), "1.5"):
        with pytest.raises(AssertionError, match="seed"):
            render_js(node, "node", sites["uncond"], [bad], tmp_path)
