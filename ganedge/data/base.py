"""The dataset interface the trainer, the metrics and the CLI share.

A dataset hands out float32 images in [-1, 1], shaped (N, C, H, W), with int64 labels:

    images, labels = ds.batch(64, rng)        # a random draw (training)
    images, labels = ds.take([0, 1, 2])       # fixed items (item i is always the same image)

Finite datasets (digits, folders, npz files) keep their pixels in memory as uint8 NHWC and
convert on the way out; the procedural ``scenes`` renders each item from (seed, index).
"""

from __future__ import annotations

import abc
import numbers
from typing import Any, Sequence

import numpy as np

from ganedge.errors import DatasetError
from ganedge.images import to_float

MIN_IMAGE_SIZE = 8
MAX_IMAGE_SIZE = 512


def check_image_size(image_size: Any, where: str) -> int:
    if isinstance(image_size, bool) or not isinstance(image_size, numbers.Integral):
        raise DatasetError(f"{where}: image_size must be an integer, got {image_size!r}")
    if not MIN_IMAGE_SIZE <= int(image_size) <= MAX_IMAGE_SIZE:
        raise DatasetError(f"{where}: image_size {image_size} is outside [{MIN_IMAGE_SIZE}, {MAX_IMAGE_SIZE}]; use e.g. 16, 32 or 64")
    return int(image_size)


def check_channels(channels: Any, where: str) -> int | None:
    if channels is None:
        return None
    if channels not in (1, 3) or isinstance(channels, bool):
        raise DatasetError(f"{where}: channels must be 1 or 3, got {channels!r}")
    return int(channels)


def as_indices(indices: Sequence[int] | np.ndarray | int, length: int | None, where: str) -> np.ndarray:
    """Validate item indices into a 1-D int64 array (every index in [0, length))."""
    array = np.asarray([indices] if isinstance(indices, numbers.Integral) else indices)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.dtype.kind not in "iu":
        raise DatasetError(f"{where}: indices must be integers, got {array.dtype}")
    array = array.ravel().astype(np.int64)
    upper = length if length is not None else np.iinfo(np.int64).max
    if int(array.min()) < 0 or int(array.max()) >= upper:
        bad = int(array.min()) if int(array.min()) < 0 else int(array.max())
        raise DatasetError(f"{where}: index {bad} is outside [0, {upper})")
    return array


class Dataset(abc.ABC):
    """What every dataset offers. Subclasses set the attributes and implement ``take``."""

    name: str  # "scenes", "digits", or the path it was read from
    image_shape: tuple[int, int, int]  # (C, H, W)
    num_classes: int  # 0 = no labels (labels are then all 0)

    @property
    def class_names(self) -> tuple[str, ...] | None:
        """What each class is called, where the data says so (a folder's class sub-folders); else None."""
        return None

    @abc.abstractmethod
    def __len__(self) -> int:
        """Number of items; the procedural scenes report a large nominal size."""

    @abc.abstractmethod
    def take(self, indices: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fixed items: float32 (n, C, H, W) in [-1, 1] and int64 labels (n,)."""

    @abc.abstractmethod
    def describe(self) -> dict[str, Any]:
        """JSON-ready facts for config.json and manifests (name, kind, shape, options)."""

    def batch(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A random draw of ``n`` items (with replacement), reproducible from ``rng``."""
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise DatasetError(f"{self.name}: batch size must be a non-negative integer, got {n!r}")
        return self.take(rng.integers(0, len(self), size=int(n)))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} shape={self.image_shape} classes={self.num_classes} len={len(self)}>"


class ArrayDataset(Dataset):
    """A finite dataset held in memory as uint8 (N, H, W, C) plus int64 labels."""

    def __init__(self, name: str, kind: str, images_uint8: np.ndarray, labels: np.ndarray | None,
                 num_classes: int, details: dict[str, Any] | None = None):
        assert images_uint8.dtype == np.uint8 and images_uint8.ndim == 4, images_uint8.shape
        n, h, w, c = images_uint8.shape
        self.name = name
        self.kind = kind
        self.images_uint8 = np.ascontiguousarray(images_uint8)
        self.labels = np.zeros(n, dtype=np.int64) if labels is None else np.asarray(labels, dtype=np.int64)
        assert self.labels.shape == (n,)
        self.num_classes = int(num_classes)
        self.image_shape = (c, h, w)
        self._details = dict(details or {})

    def __len__(self) -> int:
        return self.images_uint8.shape[0]

    @property
    def class_names(self) -> tuple[str, ...] | None:
        names = self._details.get("classes")
        return tuple(names) if names and len(names) == self.num_classes else None

    def take(self, indices):
        idx = as_indices(indices, len(self), self.name)
        return to_float(self.images_uint8[idx]), self.labels[idx].copy()

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "image_shape": list(self.image_shape),
            "num_classes": self.num_classes,
            "size": len(self),
            **self._details,
        }
