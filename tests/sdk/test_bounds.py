"""Requests of any size: ``stream`` stays bounded by one batch for any n (10**15 included), and a
result that cannot fit in memory is refused before allocating, as a BadInputError giving its size
in bytes, not a raw MemoryError."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from ganedge.errors import BadInputError

HUGE = 10**15


def _traced_peak(fn):
    """(fn's result, the peak of Python/numpy allocations while it ran, in bytes)."""
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _two_batches(stream):
    return next(stream), next(stream)


@pytest.mark.parametrize("n", [10**8, HUGE])
def test_stream_of_any_n_holds_one_batch(g, n):
    batches, peak = _traced_peak(lambda: _two_batches(g.stream(n, seed=3, batch_size=8)))
    np.testing.assert_array_equal(np.concatenate(batches), g.sample(16, seed=3))
    # one batch: 8 images of 3 KiB as uint8, 12 KiB as float32, 8 latents; seeds for all n would be 8n bytes
    assert peak < 1 << 20, f"stream({n:.0e}) peaked at {peak / 2**20:.1f} MiB before its second batch"


def test_stream_ends_exactly_at_the_top_seed(g):
    top = 2**63 - 10
    batches = list(g.stream(10, seed=top, batch_size=4))
    assert [b.shape[0] for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(batches[-1][-1], g.sample(1, seed=2**63 - 1)[0])


def test_stream_labels_for_a_huge_n_are_never_built(cond):
    batches, peak = _traced_peak(lambda: _two_batches(cond.stream(HUGE, seed=5, batch_size=4, labels=7)))
    np.testing.assert_array_equal(np.concatenate(batches), cond.sample(8, seed=5, labels=7))
    assert peak < 1 << 20


def test_stream_slices_a_memory_mapped_label_array_per_batch(cond, tmp_path):
    n = 4_000_000
    labels = np.lib.format.open_memmap(tmp_path / "labels.npy", mode="w+", dtype=np.int16, shape=(n,))
    labels[:] = 3
    labels[:6] = [1, 2, 3, 4, 5, 6]
    batches, peak = _traced_peak(lambda: _two_batches(cond.stream(n, batch_size=4, labels=labels)))
    np.testing.assert_array_equal(np.concatenate(batches), cond.sample(8, labels=[1, 2, 3, 4, 5, 6, 3, 3]))
    assert peak < labels.nbytes // 4, f"labels were copied: peak {peak / 2**20:.1f} MiB"


def test_stream_checks_labels_at_the_call_for_any_n(cond):
    for labels, needle in ((10, "out of range"), ([1, 2], "2 labels for"), (None, "conditional")):
        with pytest.raises(BadInputError, match=needle):
            cond.stream(HUGE, labels=labels)
    with pytest.raises(BadInputError, match="out of range"):
        cond.stream(5, labels=np.array([0, 1, 2, 3, 10]))


def _refused(call, *needles):
    with pytest.raises(BadInputError) as info:
        call()
    message = str(info.value)
    assert "bytes" in message and all(n in message for n in needles), message
    return message


def test_a_sample_that_cannot_fit_is_refused_with_its_size(g):
    message = _refused(lambda: g.sample(2**40), f"{2**40 * 3072:,}", "stream(")
    assert message.startswith("sample(n=1099511627776) would need ")


def test_huge_seed_lists_latents_and_z_are_refused_before_allocating(g):
    _refused(lambda: g.sample_seeds(range(2**40)), f"{2**40:,} seeds", "sample_seeds(seeds[i:j])")
    _refused(lambda: g.latents(range(2**40)), "latents(seeds[i:j], dim)")
    z = np.broadcast_to(np.zeros((1, 128), np.float32), (2**36, 128))  # 512 bytes standing for 32 TiB of z
    _refused(lambda: g.generate(z), f"{2**36 * 3072 * 4:,}", "generate(z[i:j])")


def test_a_stream_batch_that_cannot_fit_is_refused_at_the_call(g):
    _refused(lambda: g.stream(2**41, batch_size=2**40), "smaller batch_size")
    assert next(g.stream(2, batch_size=2**40)).shape == (2, 32, 32, 3)  # a batch_size above n costs nothing


def test_a_lazy_seed_range_gives_the_listed_seeds_images(g):
    np.testing.assert_array_equal(g.sample_seeds(range(9, 2, -3), batch_size=2), g.sample_seeds([9, 6, 3]))
    with pytest.raises(BadInputError, match="outside"):
        g.sample_seeds(range(2, -3, -1))
