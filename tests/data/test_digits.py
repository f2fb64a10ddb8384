import numpy as np
import pytest

from ganedge.data import load_dataset
from ganedge.errors import DatasetError


def test_digits_native_size_matches_sklearn():
    from sklearn.datasets import load_digits

    ds = load_dataset("digits", image_size=8)
    assert len(ds) == 1797 and ds.num_classes == 10 and ds.image_shape == (1, 8, 8)
    images, labels = ds.take(np.arange(1797))
    ref = load_digits()
    assert np.array_equal(labels, ref.target)
    expected = ref.images / 16.0 * 2 - 1
    np.testing.assert_allclose(images[:, 0], expected, atol=1 / 255 + 1e-6)


@pytest.mark.parametrize("size,channels", [(16, None), (32, 3)])
def test_digits_resized(size, channels):
    ds = load_dataset("digits", image_size=size, channels=channels)
    c = channels or 1
    images, labels = ds.batch(32, np.random.default_rng(0))
    assert images.shape == (32, c, size, size) and images.dtype == np.float32
    assert images.min() >= -1 and images.max() <= 1 and set(labels.tolist()) <= set(range(10))
    if c == 3:
        assert np.array_equal(images[:, 0], images[:, 2])  # gray replicated
    # the same item is the same image in every call
    assert np.array_equal(ds.take([5])[0], ds.take([4, 5])[0][1:])


def test_digits_rejects_options():
    with pytest.raises(DatasetError, match="digits"):
        load_dataset("digits", max_objects=3)
