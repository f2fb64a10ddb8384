"""Property-based checks over (n, seed, batch_size, truncation, labels) on real sessions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganedge import sdk
from ganedge.images import to_uint8_reference
from ganedge.latents import MAX_SEED, latents

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def mlp(models):
    with sdk.load(models["mlp"]) as g:
        yield g


def calls(max_n: int = 12):
    return st.integers(0, max_n).flatmap(lambda n: st.tuples(
        st.just(n),
        st.integers(0, MAX_SEED - max(n, 1)),
        st.one_of(st.none(), st.integers(1, max_n + 3)),
        st.one_of(st.just(1.0), st.floats(-2.0, 2.0, allow_nan=False, width=32)),
    ))


@SETTINGS
@given(args=calls())
def test_sample_invariants(mlp, args):
    n, seed, batch_size, psi = args
    images = mlp.sample(n, seed=seed, batch_size=batch_size, truncation=psi)
    assert images.shape == (n, 16, 16, 3) and images.dtype == np.uint8
    reference = mlp.sample(n, seed=seed, truncation=psi)  # default batching
    np.testing.assert_array_equal(images, reference)
    if n:
        k = n // 2
        np.testing.assert_array_equal(mlp.sample(1, seed=seed + k, truncation=psi)[0], images[k])
        z = np.float32(psi) * latents(range(seed, seed + n), 32)
        np.testing.assert_array_equal(images, to_uint8_reference(mlp.generate(z)))


@SETTINGS
@given(args=calls(max_n=8), data=st.data())
def test_conditional_invariants(cond, args, data):
    n, seed, batch_size, psi = args
    labels = data.draw(st.one_of(st.integers(0, 9), st.lists(st.integers(0, 9), min_size=n, max_size=n)))
    images = cond.sample(n, seed=seed, batch_size=batch_size, truncation=psi, labels=labels)
    assert images.shape == (n, 16, 16, 3) and images.dtype == np.uint8
    per_image = np.full(n, labels) if isinstance(labels, int) else np.array(labels, dtype=np.int64)
    if n:
        k = n - 1
        np.testing.assert_array_equal(cond.sample(1, seed=seed + k, truncation=psi, labels=int(per_image[k]))[0],
                                      images[k])
    np.testing.assert_array_equal(np.concatenate(list(cond.stream(n, seed=seed, batch_size=3, truncation=psi,
                                                                  labels=labels)) or [images[:0]]), images)
