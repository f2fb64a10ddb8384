"""Real batches for the loop, drawn from the dataset in bulk.

Procedural datasets cost per call, not per image, so asking for one batch per step would
make data generation the bottleneck. ``BatchStream`` draws ``block_steps`` steps' worth of
batches at once from a generator keyed by (seed, rank, block) and hands out slices: the
batch of step N is a pure function of (seed, rank, N), so a resumed run sees the same data.
"""

from __future__ import annotations

from typing import Any

from ganedge.errors import DatasetError
from ganedge.train.rng import STREAM_DATA, numpy_rng


class BatchStream:
    def __init__(self, dataset: Any, batch_size: int, batches_per_step: int, block_steps: int, seed: int,
                 rank: int = 0, device: Any = "cpu"):
        self.dataset = dataset
        self.batch_size = batch_size
        self.batches_per_step = batches_per_step
        self.block_steps = block_steps
        self.seed, self.rank, self.device = seed, rank, device
        self._block_index: int | None = None
        self._images = self._labels = None

    def _load_block(self, block: int) -> None:
        import torch

        n = self.block_steps * self.batches_per_step * self.batch_size
        images, labels = self.dataset.batch(n, numpy_rng(self.seed, STREAM_DATA, self.rank, block))
        if images.shape[0] != n or tuple(images.shape[1:]) != tuple(self.dataset.image_shape):
            raise DatasetError(f"dataset {self.dataset.name!r} returned images of shape {images.shape}, "
                               f"expected ({n}, {', '.join(map(str, self.dataset.image_shape))})")
        self._images = torch.from_numpy(images).to(self.device, torch.float32)  # (n, C, H, W) in [-1, 1]
        self._labels = torch.from_numpy(labels).to(self.device, torch.int64)  # (n,)
        self._block_index = block

    def get(self, step: int, i: int = 0):
        """The ``i``-th real batch of ``step``: (images (B, C, H, W), labels (B,))."""
        block, offset = divmod(step, self.block_steps)
        if block != self._block_index:
            self._load_block(block)
        start = (offset * self.batches_per_step + i) * self.batch_size
        return self._images[start : start + self.batch_size], self._labels[start : start + self.batch_size]
