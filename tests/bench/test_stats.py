"""The statistics against values computed by hand."""

import math

import pytest

from ganedge.bench.stats import LatencyStats, coefficient_of_variation, percentile


def test_percentile_interpolates_between_closest_ranks():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([4, 1, 3, 2], 50) == 2.5  # order of the samples does not matter
    # 10 samples: position (10 - 1) * 0.9 = 8.1 -> 9 + 0.1 * (10 - 9)
    assert percentile(list(range(1, 11)), 90) == pytest.approx(9.1)
    assert percentile([5, 1, 9], 0) == 1 and percentile([5, 1, 9], 100) == 9
    assert percentile([7.5], 99) == 7.5


@pytest.mark.parametrize("samples, q", [([], 50), ([1.0], -1), ([1.0], 100.5)])
def test_percentile_rejects_bad_input(samples, q):
    with pytest.raises(ValueError):
        percentile(samples, q)


def test_coefficient_of_variation_uses_the_sample_standard_deviation():
    # mean 5; squared deviations sum to 32; sample variance 32 / 7
    assert coefficient_of_variation([2, 4, 4, 4, 5, 5, 7, 9]) == pytest.approx(math.sqrt(32 / 7) / 5)
    assert coefficient_of_variation([3.0, 3.0, 3.0]) == 0.0
    assert coefficient_of_variation([3.0]) is None  # one sample shows no spread


def test_latency_stats_from_seconds():
    stats = LatencyStats.from_seconds([0.004, 0.001, 0.003, 0.002])
    assert stats.n == 4
    assert (stats.min_ms, stats.max_ms) == pytest.approx((1.0, 4.0))
    assert stats.mean_ms == pytest.approx(2.5)
    assert stats.p50_ms == pytest.approx(2.5)
    assert stats.p99_ms == pytest.approx(3.97)  # position 3 * 0.99 = 2.97 -> 3 + 0.97 * (4 - 3)
    assert stats.total_s == pytest.approx(0.010)
    assert stats.items_per_s(8) == pytest.approx(8 * 4 / 0.010)  # images, not calls, per second
    assert stats.cv == pytest.approx(math.sqrt(5 / 3) / 2.5)
    assert stats.unstable(max_cv=0.10) and not stats.unstable(max_cv=0.6)


def test_latency_stats_needs_samples():
    with pytest.raises(ValueError):
        LatencyStats.from_seconds([])
