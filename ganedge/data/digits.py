"""``digits``: scikit-learn's bundled 8x8 handwritten digits (1797 images, labels 0-9), no download."""

from __future__ import annotations

from typing import Any

import numpy as np

from ganedge.data.base import ArrayDataset
from ganedge.data.resize import resize_float_batch, to_uint8
from ganedge.errors import DatasetError
from ganedge.extras import needs

_CACHE: dict[tuple[int, int], np.ndarray] = {}  # (size, channels) -> uint8 NHWC; the resize is the slow part


def load_digits(image_size: int, channels: int | None, **options: Any) -> ArrayDataset:
    if options:
        raise DatasetError(f"digits: unknown option {sorted(options)[0]!r}; digits takes none")
    channels = channels or 1
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ModuleNotFoundError:
        raise DatasetError(needs("the digits dataset", "sklearn")) from None
    bunch = sk_load_digits()
    key = (image_size, channels)
    if key not in _CACHE:
        pixels = bunch.images.astype(np.float32) / 16.0  # (1797, 8, 8) in [0, 1]
        if image_size != 8:
            pixels = resize_float_batch(pixels, image_size)  # bilinear
        gray = to_uint8(pixels)[..., None]  # (N, S, S, 1)
        _CACHE[key] = np.repeat(gray, channels, axis=3) if channels == 3 else gray
    images = _CACHE[key]
    images.setflags(write=False)  # shared between datasets: nobody may scribble on it
    return ArrayDataset("digits", "digits", images, bunch.target.astype(np.int64), num_classes=10,
                        details={"source": "sklearn.datasets.load_digits", "resize": "bilinear"})
