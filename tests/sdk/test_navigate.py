"""Interpolations and walks: exact ends, the documented formula, and frames that do not depend on how they are batched."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ganedge import sdk
from ganedge.errors import BadInputError
from ganedge.latents import latents
from ganedge.sdk.navigate import SLERP_EPS, Path, interpolate_latents


def reference_slerp(za: np.ndarray, zb: np.ndarray, t: float) -> np.ndarray:
    """The docstring's formula written out again independently (numpy's own sums and trig)."""
    a, b = za.astype(np.float64), zb.astype(np.float64)
    cos = np.clip(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)), -1, 1)
    omega = np.arccos(cos)
    if np.sin(omega) < SLERP_EPS:
        return ((1 - t) * a + t * b).astype(np.float32)
    return (np.sin((1 - t) * omega) / np.sin(omega) * a + np.sin(t * omega) / np.sin(omega) * b).astype(np.float32)


# --- the latent arithmetic -----------------------------------------------------------------------


def test_slerp_follows_the_documented_formula():
    za, zb = latents([3, 17], 128)
    ts = [i / 9 for i in range(10)]
    ours = interpolate_latents(za, zb, ts, "slerp")
    for row, t in zip(ours, ts):
        ref = reference_slerp(za, zb, t)
        # The same formula through other summation orders and trig code: equal up to one float32 ulp.
        assert np.all(np.abs(row - ref) <= np.spacing(np.abs(ref)) + 1e-30)
    # Between two unit-ish vectors slerp keeps the norm (lerp shrinks it in the middle).
    norms = np.linalg.norm(interpolate_latents(za / np.linalg.norm(za), zb / np.linalg.norm(zb), ts), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-6)


def test_ends_are_the_keys_exactly_and_lerp_differs_from_slerp_only_inside():
    za, zb = latents([5, 6], 64)
    for mode in ("slerp", "lerp"):
        assert interpolate_latents(za, zb, 0.0, mode).tobytes() == za.tobytes()
        assert interpolate_latents(za, zb, 1.0, mode).tobytes() == zb.tobytes()
    mid_s, mid_l = interpolate_latents(za, zb, 0.5, "slerp"), interpolate_latents(za, zb, 0.5, "lerp")
    np.testing.assert_array_equal(mid_l, ((za.astype(np.float64) + zb) / 2).astype(np.float32))
    # Two independent Gaussians are nearly orthogonal: lerp's midpoint has ~1/sqrt(2) of slerp's norm.
    ratio = np.linalg.norm(mid_l) / np.linalg.norm(mid_s)
    assert 0.6 < ratio < 0.8


def test_slerp_of_a_latent_with_itself_and_with_zero_is_defined():
    z = latents([9], 32)[0]
    for t in (0.0, 0.25, 0.5, 1.0):
        assert interpolate_latents(z, z, t).tobytes() == z.tobytes()
    zero = np.zeros(32, np.float32)  # truncation 0: no direction to rotate, so lerp
    np.testing.assert_array_equal(interpolate_latents(zero, z, 0.25), (0.25 * z.astype(np.float64)).astype(np.float32))
    assert np.isfinite(interpolate_latents(z, -z, 0.5)).all()  # opposite vectors: lerp through 0, no NaN


def test_a_frame_is_the_same_whichever_range_computes_it():
    path = Path(latents([1, 2, 3, 4], 16), frames_per_step=7, mode="slerp", loop=True)
    whole = path.latents(0, path.frames)
    pieces = np.concatenate([path.latents(i, min(i + 3, path.frames)) for i in range(0, path.frames, 3)])
    assert whole.tobytes() == pieces.tobytes()
    singles = np.concatenate([path.latents(i, i + 1) for i in range(path.frames)])
    assert whole.tobytes() == singles.tobytes()


# --- images --------------------------------------------------------------------------------------


@pytest.mark.parametrize("truncation", [1.0, 0.7])
def test_interpolation_ends_equal_the_seeds_images(g, truncation):
    frames = g.interpolate(3, 17, steps=6, truncation=truncation)
    assert frames.shape == (6, 32, 32, 3) and frames.dtype == np.uint8
    ends = g.sample_seeds([3, 17], truncation=truncation)
    np.testing.assert_array_equal(frames[0], ends[0])
    np.testing.assert_array_equal(frames[-1], ends[1])
    assert not np.array_equal(frames[2], ends[0]) and not np.array_equal(frames[2], ends[1])


def test_latent_keys_and_seed_keys_give_the_same_frames(g):
    za, zb = g.latents([3, 17])
    np.testing.assert_array_equal(g.interpolate(za, zb, 5), g.interpolate(3, 17, 5))
    np.testing.assert_array_equal(g.interpolate(za, 17, 5), g.interpolate(3, 17, 5))
    z = g.latents([3, 17, 4])
    np.testing.assert_array_equal(np.concatenate(list(g.walk(z, 4))), np.concatenate(list(g.walk([3, 17, 4], 4))))


def test_slerp_and_lerp_frames_agree_at_the_ends_and_differ_inside(g):
    slerp, lerp = g.interpolate(1, 2, 7, mode="slerp"), g.interpolate(1, 2, 7, mode="lerp")
    np.testing.assert_array_equal(slerp[[0, -1]], lerp[[0, -1]])
    assert not np.array_equal(slerp[3], lerp[3])


def test_interpolating_a_seed_with_itself_is_constant(g):
    frames = g.interpolate(8, 8, 5)
    np.testing.assert_array_equal(frames, np.repeat(g.sample_seeds([8]), 5, axis=0))


def test_walk_passes_through_every_seed_and_loops_back(g):
    seeds, per_step = [4, 9, 2], 5
    open_walk = np.concatenate(list(g.walk(seeds, per_step)))
    assert open_walk.shape[0] == (len(seeds) - 1) * per_step + 1
    np.testing.assert_array_equal(open_walk[::per_step], g.sample_seeds(seeds))
    looped = np.concatenate(list(g.walk(seeds, per_step, loop=True)))
    assert looped.shape[0] == len(seeds) * per_step
    # Closure: the looped walk is the open walk over seeds + [first]; that walk's extra frame (the one
    # after the loop's last) is the first frame again.
    closed = np.concatenate(list(g.walk(seeds + seeds[:1], per_step)))
    np.testing.assert_array_equal(looped, closed[:-1])
    np.testing.assert_array_equal(closed[-1], looped[0])


def test_walk_is_the_same_at_any_batch_size_and_through_a_batcher(g):
    seeds = [11, 3, 27, 8]
    one = list(g.walk(seeds, 9, loop=True, batch_size=1))
    assert len(one) == 36 and all(b.shape[0] == 1 for b in one)
    reference = np.concatenate(one)
    np.testing.assert_array_equal(np.concatenate(list(g.walk(seeds, 9, loop=True, batch_size=64))), reference)
    np.testing.assert_array_equal(np.concatenate(list(g.walk(seeds, 9, loop=True, batch_size=5))), reference)
    with sdk.Batcher(g, max_batch=8, max_delay_ms=1.0, max_queue=16) as batcher:
        np.testing.assert_array_equal(np.concatenate(list(g.walk(seeds, 9, loop=True, batcher=batcher))), reference)
        # Other clients' requests share the batches; the walk's frames stay the same.
        other = batcher.submit(seed=100, n=3)
        np.testing.assert_array_equal(np.concatenate(list(g.walk(seeds, 9, loop=True, batcher=batcher,
                                                                 batch_size=3))), reference)
        np.testing.assert_array_equal(other.result(), g.sample(3, seed=100))


def test_torch_and_onnxruntime_walks_agree_within_one_level(models, g):
    with sdk.load(models["dcgan_run"], backend="torch", device="cpu") as torch_g:
        torch_frames = np.concatenate(list(torch_g.walk([1, 5, 9], 6, loop=True, batch_size=7)))
    onnx_frames = np.concatenate(list(g.walk([1, 5, 9], 6, loop=True)))
    assert np.abs(torch_frames.astype(int) - onnx_frames.astype(int)).max() <= 1


# --- classes -------------------------------------------------------------------------------------


def test_a_fixed_class_or_a_pair_of_equal_classes_works_on_an_index_model(cond):
    frames = cond.interpolate(3, 4, 4, labels=2)
    np.testing.assert_array_equal(frames[[0, -1]], cond.sample_seeds([3, 4], labels=2))
    np.testing.assert_array_equal(cond.interpolate(3, 4, 4, labels=(2, 2)), frames)


def test_blending_classes_on_an_index_model_says_what_it_needs(cond):
    with pytest.raises(BadInputError, match="takes an integer class label; blending between classes needs a model "
                                            "whose graph takes a one-hot or embedding input"):
        cond.interpolate(3, 4, 4, labels=(1, 2))
    with pytest.raises(BadInputError, match="integer class label"):
        cond.walk([1, 2, 3], 4, labels=[0, 0, 5])


def test_blending_classes_on_a_model_that_takes_class_weights(onehot_onnx):
    with sdk.load(onehot_onnx) as m:
        assert m.runner.label_input == "onehot" and m.manifest.class_names == ("cat", "dog", "owl")
        np.testing.assert_array_equal(m.sample(3, seed=0, labels="dog"), m.sample(3, seed=0, labels=1))
        frames = m.interpolate(5, 6, 5, labels=("cat", "owl"))
        np.testing.assert_array_equal(frames[0], m.sample_seeds([5], labels="cat")[0])
        np.testing.assert_array_equal(frames[-1], m.sample_seeds([6], labels="owl")[0])
        # The middle frame's class input is half cat, half owl: neither class alone gives its image.
        z_mid = m.latents([5, 6])
        from ganedge.images import to_uint8_reference
        mid_z = interpolate_latents(z_mid[0], z_mid[1], 0.5)[None]
        half = np.array([[0.5, 0.0, 0.5]], np.float32)
        np.testing.assert_array_equal(frames[2], to_uint8_reference(m.generate(mid_z, labels=half))[0])
        assert not np.array_equal(frames[2], to_uint8_reference(m.generate(mid_z, labels=[0]))[0])
        # Blended walks are batch-invariant too, and mix with int-labelled requests in a Batcher's batches.
        walk = dict(seeds=[1, 2, 3], frames_per_step=4, loop=True, labels=["cat", "dog", "owl"])
        reference = np.concatenate(list(m.walk(**walk, batch_size=1)))
        with sdk.Batcher(m, max_batch=6, max_delay_ms=1.0) as batcher:
            other = batcher.submit(seed=7, n=2, labels="owl")
            np.testing.assert_array_equal(np.concatenate(list(m.walk(**walk, batcher=batcher))), reference)
            np.testing.assert_array_equal(other.result(), m.sample(2, seed=7, labels=2))


def test_class_names_resolve_and_a_wrong_name_lists_the_valid_ones(onehot_onnx, cond):
    with sdk.load(onehot_onnx) as m:
        np.testing.assert_array_equal(m.sample(3, labels=["owl", 0, "dog"]), m.sample(3, labels=[2, 0, 1]))
        with pytest.raises(BadInputError, match="unknown class 'cow'; this model's classes are: cat, dog, owl"):
            m.sample(2, labels="cow")
        with pytest.raises(BadInputError, match="unknown class 'cow'"):
            m.interpolate(1, 2, 3, labels=("cat", "cow"))
    with pytest.raises(BadInputError, match="has no class names"):
        cond.sample(1, labels="cat")


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("call, match", [
    (lambda g: g.interpolate(1, 2, 1), "steps must be an integer >= 2"),
    (lambda g: g.interpolate(1, 2, 2.5), "steps must be an integer >= 2"),
    (lambda g: g.interpolate(1, 2, 4, mode="cubic"), "mode must be one of slerp, lerp"),
    (lambda g: g.interpolate(-1, 2, 4), "seed"),
    (lambda g: g.interpolate(1, 2**63, 4), "seed"),
    (lambda g: g.interpolate(1, np.zeros(7, np.float32), 4), r"shape \(128,\)"),
    (lambda g: g.interpolate(1, np.full(128, np.nan, np.float32), 4), "finite"),
    (lambda g: g.interpolate(1, 2, 4, truncation=math.inf), "truncation"),
    (lambda g: g.interpolate(1, 2, 4, labels=1), "unconditional"),
    (lambda g: g.walk([1], 4), "at least 2 seeds"),
    (lambda g: g.walk([1, 2], 0), "frames_per_step must be an integer >= 1"),
    (lambda g: g.walk([1, 2], 10**7), "too long"),
])
def test_bad_arguments_fail_before_any_frame(g, call, match):
    with pytest.raises(BadInputError, match=match):
        call(g)
