"""Generator semantics on real onnxruntime sessions: seeds, batching, truncation, labels,
generate/stream, NaN detection, closing, and every bad argument."""

from __future__ import annotations

import numpy as np
import pytest

from ganedge import sdk
from ganedge.errors import BadInputError, ClosedError, NumericalError
from ganedge.images import to_uint8_reference
from ganedge.latents import latents


def test_sample_is_bare_session_plus_reference_conversion(g, models):
    import onnxruntime as ort

    session = ort.InferenceSession(str(models["dcgan"]), providers=["CPUExecutionProvider"])
    expected = to_uint8_reference(session.run(None, {"z": latents(range(5, 17), 128)})[0])
    images = g.sample(12, seed=5)
    assert images.dtype == np.uint8 and images.shape == (12, 32, 32, 3)
    np.testing.assert_array_equal(images, expected)
    assert int(images.max()) - int(images.min()) > 100  # the fixture's model spans most of [0, 255]


def test_seed_slicing_and_batch_size_invariance(g):
    ten = g.sample(10, seed=0)
    np.testing.assert_array_equal(g.sample(1, seed=5)[0], ten[5])
    for batch_size in (1, 3, 7, 64):
        np.testing.assert_array_equal(g.sample(10, seed=0, batch_size=batch_size), ten)
    np.testing.assert_array_equal(g.sample_seeds([9, 2, 2]), ten[[9, 2, 2]])
    assert not np.array_equal(ten[0], ten[1])


def test_zero_images_is_an_empty_array(g, cond):
    for gen in (g, cond):
        c, h, w = gen.manifest.image_shape
        labels = 0 if gen.manifest.conditional else None
        empty = gen.sample(0, labels=labels)
        assert empty.shape == (0, h, w, c) and empty.dtype == np.uint8
        assert list(gen.stream(0, labels=labels)) == []
    assert g.generate(np.empty((0, 128), np.float32)).shape == (0, 3, 32, 32)


def test_large_seeds_near_the_top_of_the_range(g):
    top = 2**63 - 4
    images = g.sample(4, seed=top)
    np.testing.assert_array_equal(images[3], g.sample(1, seed=2**63 - 1)[0])


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=-1), "n must be >= 0"),
    (dict(n=2.5), "n must be a non-negative integer"),
    (dict(n=True), "n must be a non-negative integer"),
    (dict(n=2, seed=-1), r"outside \[0, 2\*\*63\)|leave"),
    (dict(n=2, seed=2**63), r"outside|leave"),
    (dict(n=2, seed=2**63 - 1), "leave"),
    (dict(n=2, seed=1.5), "seed must be an integer"),
    (dict(n=2, seed="3"), "seed must be an integer"),
    (dict(n=2, batch_size=0), "batch_size must be a positive integer"),
    (dict(n=2, batch_size=-3), "batch_size must be a positive integer"),
    (dict(n=2, batch_size=2.0), "batch_size must be a positive integer"),
    (dict(n=2, truncation=float("nan")), "truncation must be a finite number"),
    (dict(n=2, truncation="0.7"), "truncation must be a finite number"),
    (dict(n=2, labels=3), "unconditional"),
])
def test_bad_sample_arguments(g, kwargs, match):
    with pytest.raises(BadInputError, match=match):
        g.sample(**kwargs)


@pytest.mark.parametrize("seeds, match", [
    ([1, -2], "outside"), ([2**63], "outside"), ([1.0], "integers"), ("7", "integers"), ([True], "integers"),
])
def test_bad_seed_lists(g, seeds, match):
    with pytest.raises(BadInputError, match=match):
        g.sample_seeds(seeds)


def test_truncation_scales_latents_toward_zero(g):
    z = latents(range(4), 128)
    np.testing.assert_array_equal(g.sample(4, truncation=0.5),
                                  to_uint8_reference(g.generate(np.float32(0.5) * z)))
    mean_images = g.sample(3, seed=100, truncation=0.0)  # psi = 0: every seed gives the mean latent's image
    assert (mean_images == mean_images[0]).all()
    np.testing.assert_array_equal(mean_images[0], to_uint8_reference(g.generate(np.zeros((1, 128), np.float32)))[0])


def test_labels_for_conditional_models(cond):
    per_class = cond.sample(4, seed=3, labels=7)
    np.testing.assert_array_equal(cond.sample(4, seed=3, labels=[7, 7, 7, 7]), per_class)
    np.testing.assert_array_equal(cond.sample(4, seed=3, labels=np.full(4, 7, np.uint8)), per_class)
    mixed = cond.sample(4, seed=3, labels=[7, 0, 7, 9])
    np.testing.assert_array_equal(mixed[[0, 2]], per_class[[0, 2]])
    assert not np.array_equal(mixed[1], per_class[1])  # the label changes the image
    np.testing.assert_array_equal(cond.sample(1, seed=4, labels=0)[0], mixed[1])  # seed + label -> image
    z = latents(range(3, 7), 128)
    np.testing.assert_array_equal(to_uint8_reference(cond.generate(z, labels=[7, 0, 7, 9])), mixed)


@pytest.mark.parametrize("labels, match", [
    (None, "conditional on 10 classes"),
    (10, "out of range"),
    (-1, "out of range"),
    ([1, 2, 3], "got 3 labels for 4 images"),
    ([1.0, 2.0, 3.0, 4.0], "labels must be an int"),
    (True, "not a bool"),
    ([[1, 2], [3, 4]], "labels must be an int"),
])
def test_bad_labels(cond, labels, match):
    with pytest.raises(BadInputError, match=match):
        cond.sample(4, labels=labels)


@pytest.mark.parametrize("z, match", [
    (np.zeros((2, 127), np.float32), r"shape \(n, 128\)"),
    (np.zeros((2, 128, 1), np.float32), r"shape \(n, 128\)"),
    (np.zeros(128, np.float32), r"shape \(n, 128\)"),
    (np.zeros((2, 128), np.float64), "float32"),
    (np.zeros((2, 128), np.int32), "float32"),
    ([[0.0] * 128], "numpy float32 array"),
])
def test_generate_rejects_wrong_shapes_and_dtypes(g, z, match):
    with pytest.raises(BadInputError, match=match):
        g.generate(z)


def test_generate_matches_sample_and_accepts_non_contiguous_z(g):
    z = latents(range(8), 128)
    x = g.generate(z[::2])  # a strided view
    assert x.dtype == np.float32 and x.shape == (4, 3, 32, 32)
    assert -1.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_array_equal(to_uint8_reference(x), g.sample(8)[::2])


def test_stream_yields_bounded_batches_equal_to_sample(g):
    stream = g.stream(23, seed=4, batch_size=5)
    batches = list(stream)
    assert [b.shape[0] for b in batches] == [5, 5, 5, 5, 3]
    np.testing.assert_array_equal(np.concatenate(batches), g.sample(23, seed=4))


def test_stream_checks_arguments_before_the_first_batch(g):
    with pytest.raises(BadInputError):
        g.stream(-1)
    with pytest.raises(BadInputError):
        g.stream(4, batch_size=0)


def test_nan_output_is_a_numerical_error_naming_the_seeds(nan_onnx):
    with sdk.load(nan_onnx) as g:
        z0 = latents(range(16), 8)[:, 0]
        bad = [s for s in range(16) if z0[s] < 0]
        good = [s for s in range(16) if z0[s] >= 0]
        assert bad and good
        assert g.sample_seeds(good).shape == (len(good), 4, 4, 1)
        with pytest.raises(NumericalError, match=f"seeds \\[{bad[0]}"):
            g.sample(16)
        with pytest.raises(NumericalError, match="NaN/Inf"):
            g.generate(latents(bad[:1], 8))
        with pytest.raises(NumericalError):
            list(g.stream(16, batch_size=4))


def test_use_after_close(models):
    g = sdk.load(models["mlp"])
    stream = g.stream(4, batch_size=2)
    next(stream)
    g.close()
    g.close()  # idempotent
    for call in (lambda: g.sample(1), lambda: g.generate(latents([0], 32)), lambda: g.stream(2),
                 lambda: next(stream), lambda: g.sample(0)):
        with pytest.raises(ClosedError, match="closed"):
            call()
    assert "closed" in repr(g)
