"""The distances themselves, on synthetic features with known answers."""

import numpy as np
import pytest

from ganedge.errors import BadInputError
from ganedge.metrics.stats import frechet_distance, frechet_distance_from_stats, kid, precision_recall


@pytest.fixture(scope="module")
def gauss():
    rng = np.random.default_rng(0)
    return rng.normal(size=(1000, 16)), rng.normal(size=(1000, 16))


def test_fd_of_identical_sets_is_zero(gauss):
    a, _ = gauss
    assert abs(frechet_distance(a, a)) < 1e-6
    few = a[:10]  # n < d: singular covariance, still exactly 0
    assert abs(frechet_distance(few, few)) < 1e-6


def test_fd_of_a_shift_is_its_squared_length(gauss):
    a, _ = gauss
    shift = np.linspace(-1, 1, 16)
    assert frechet_distance(a, a + shift) == pytest.approx(float(shift @ shift), rel=1e-9)


def test_fd_matches_scipy_sqrtm_reference(gauss):
    from scipy import linalg

    a, b = gauss
    b = b @ np.random.default_rng(1).normal(size=(16, 16)) * 0.5 + 0.3
    mu1, mu2 = a.mean(0), b.mean(0)
    c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(c1 @ c2).real
    reference = float((mu1 - mu2) @ (mu1 - mu2) + np.trace(c1 + c2 - 2 * root))
    assert frechet_distance(a, b) == pytest.approx(reference, rel=1e-6)
    assert frechet_distance_from_stats(mu1, c1, mu2, c2) == pytest.approx(reference, rel=1e-6)


def test_kid_is_near_zero_for_one_distribution_and_positive_otherwise(gauss):
    a, b = gauss
    same, same_std = kid(a, b, num_subsets=20, subset_size=500)
    shifted, _ = kid(a, b + 0.5, num_subsets=20, subset_size=500)
    assert abs(same) < 0.02 and same_std > 0
    assert shifted > 10 * max(abs(same), same_std)
    assert kid(a, b, num_subsets=5, subset_size=200, seed=3) == kid(a, b, num_subsets=5, subset_size=200, seed=3)


def test_precision_recall_behave():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(800, 4)), rng.normal(size=(800, 4))
    p, r = precision_recall(real, fake)
    assert p > 0.8 and r > 0.8
    collapsed = np.repeat(fake[:1] * 0, 800, axis=0)  # every sample the same typical point
    p, r = precision_recall(real, collapsed)
    assert p == 1.0 and r < 0.02
    far = fake + 20.0
    assert precision_recall(real, far) == (0.0, 0.0)
    narrow = fake * 0.3  # fake covers only the core of the real distribution
    p, r = precision_recall(real, narrow)
    assert p > 0.9 and r < 0.6


@pytest.mark.parametrize("bad", [np.zeros((1, 4)), np.zeros(4), np.full((5, 4), np.nan)])
def test_bad_features(bad):
    with pytest.raises(BadInputError):
        frechet_distance(bad, np.zeros((5, 4)))
    with pytest.raises(BadInputError):
        precision_recall(np.zeros((5, 4)), bad)


def test_fast_kid_matches_the_reference_loop(gauss):
    from ganedge.metrics.stats import kid_reference

    a, b = gauss
    fast = kid(a[:300], b[:250] + 0.2, num_subsets=7, subset_size=100, seed=5)
    slow = kid_reference(a[:300], b[:250] + 0.2, num_subsets=7, subset_size=100, seed=5)
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12)


def test_gram_and_covariance_forms_agree(gauss):
    a, b = gauss
    b = b * 1.3 + 0.1
    assert frechet_distance(a, b, method="gram") == pytest.approx(frechet_distance(a, b, method="cov"), rel=1e-8)
    few_a, few_b = a[:6], b[:9]  # fewer samples than dimensions: "auto" takes the gram form
    assert frechet_distance(few_a, few_b) == pytest.approx(frechet_distance(few_a, few_b, method="cov"), rel=1e-6)
    assert abs(frechet_distance(few_a, few_a)) < 1e-6
