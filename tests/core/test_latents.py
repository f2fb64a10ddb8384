import numpy as np
import pytest

from ganedge.errors import BadInputError
from ganedge.latents import MAX_SEED, check_seeds, latents, seed_range


def test_row_depends_only_on_its_seed():
    batch = latents(range(10), 128)
    for s in (0, 3, 9):
        np.testing.assert_array_equal(latents([s], 128)[0], batch[s])
    shuffled = latents([9, 3, 0], 128)
    np.testing.assert_array_equal(shuffled, batch[[9, 3, 0]])


def test_chunk_boundaries_do_not_change_values(monkeypatch):
    import ganedge.latents as mod

    ref = latents(range(50), 64)
    monkeypatch.setattr(mod, "_CHUNK_PAIRS", 96)  # forces several chunks, one partial
    np.testing.assert_array_equal(latents(range(50), 64), ref)


def test_small_and_large_batches_hash_keys_identically():
    import ganedge.latents as mod

    seeds = np.array([0, 1, 12345, 2**63 - 1] * 10, dtype=np.uint64)  # 40 seeds: the numpy key path
    big = latents(seeds, 16)
    assert seeds.size >= mod._SMALL_N
    for i in (0, 1, 2, 3):
        np.testing.assert_array_equal(latents(seeds[i:i + 1], 16)[0], big[i])  # the Python key path


def test_known_values_are_stable():
    # Golden values: changing the generator would silently change every user's images.
    z = latents([0, 1, 2**63 - 1], 4)
    expected = np.array(
        [
            [-1.17647517, -1.84123945, 0.56993246, -0.62161350],
            [-1.20012438, 0.57201850, -0.58267492, 0.28948843],
            [0.63030475, 0.09695517, -0.12777761, 1.98607576],
        ],
        dtype=np.float32,
    )
    # atol allows an ulp of difference in numpy's log/sin/cos between CPU instruction sets.
    np.testing.assert_allclose(z, expected, rtol=0, atol=2e-6)


def test_standard_normal_statistics():
    z = latents(np.arange(20000), 128).astype(np.float64)
    assert abs(z.mean()) < 0.005
    assert abs(z.std() - 1) < 0.005
    assert abs((z**3).mean()) < 0.02
    assert abs((z**4).mean() - 3) < 0.05
    # No correlation between coordinates or between neighbouring seeds.
    c = np.corrcoef(z[:, :8].T)
    assert np.abs(c - np.eye(8)).max() < 0.03
    assert abs(np.corrcoef(z[:-1, 0], z[1:, 0])[0, 1]) < 0.03
    assert np.isfinite(z).all() and np.abs(z).max() < 5.7


def test_odd_dim_and_out_buffer():
    full = latents(range(5), 9)
    assert full.shape == (5, 9) and full.dtype == np.float32
    buf = np.empty((5, 9), np.float32)
    assert latents(range(5), 9, out=buf) is buf
    np.testing.assert_array_equal(buf, full)
    with pytest.raises(BadInputError):
        latents(range(5), 9, out=np.empty((5, 8), np.float32))


def test_empty_seed_list():
    assert latents([], 16).shape == (0, 16)


@pytest.mark.parametrize("bad", [[-1], [MAX_SEED], [1.5], ["3"], [True], np.array([1.0])])
def test_bad_seeds_rejected(bad):
    with pytest.raises(BadInputError):
        latents(bad, 8)


def test_bad_dim_rejected():
    for dim in (0, -3, 2.0, True):
        with pytest.raises(BadInputError):
            latents([0], dim)


def test_check_seeds_accepts_numpy_ints_and_scalars():
    assert check_seeds(np.int64(7)).tolist() == [7]
    assert check_seeds(np.array([1, 2], np.int32)).dtype == np.uint64
    with pytest.raises(BadInputError):
        check_seeds(np.array([-2], np.int64))


def test_seed_range():
    assert seed_range(5, 3).tolist() == [5, 6, 7]
    assert seed_range(0, 0).size == 0
    for start, n in ((-1, 2), (MAX_SEED - 1, 2), (0, -1), (0.5, 1)):
        with pytest.raises(BadInputError):
            seed_range(start, n)


@pytest.mark.parametrize("seeds", [range(0), range(5), range(3, 100, 7), range(10, -1, -1), range(7, 3),
                                   range(MAX_SEED - 4, MAX_SEED), range(MAX_SEED - 1, 0, -2**61),
                                   range(0, MAX_SEED, 2**60)])
def test_a_range_gives_what_its_list_gives(seeds):
    fast = check_seeds(seeds)
    assert fast.dtype == np.uint64 and fast.flags.c_contiguous
    np.testing.assert_array_equal(fast, np.array(list(seeds), dtype=np.uint64))
    np.testing.assert_array_equal(latents(seeds, 8), latents(list(seeds), 8))


@pytest.mark.parametrize("seeds", [range(-1, 3), range(MAX_SEED - 1, MAX_SEED + 1), range(3, -2, -1)])
def test_a_range_leaving_the_seed_interval_is_refused(seeds):
    with pytest.raises(BadInputError, match="outside"):
        check_seeds(seeds)


def test_a_range_becomes_an_array_without_a_python_object_per_seed():
    """The slow path (a list, then one int check per seed) allocates ~6x the array; a range must not."""
    import tracemalloc

    n = 1_000_000
    tracemalloc.start()
    try:
        seeds = check_seeds(range(n))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seeds.size == n
    assert peak < 1.5 * seeds.nbytes, f"check_seeds(range({n})) peaked at {peak / 2**20:.1f} MiB"


def test_huge_seed_requests_are_refused_before_allocating():
    for seeds in (range(2**40), np.broadcast_to(np.uint64(1), (2**40,))):  # a view of 8 bytes standing for 2**40 seeds
        with pytest.raises(BadInputError, match=f"{2**40:,} seeds would need .* bytes .*latents\\(seeds\\[i:j\\]"):
            latents(seeds, 128)
    with pytest.raises(BadInputError, match="bytes"):
        seed_range(0, 2**60)
