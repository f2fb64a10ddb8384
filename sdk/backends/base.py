"""The one small interface every backend's runner implements (after Polygraphy's runners).

A Runner maps a float32 latent batch (and int64 labels for conditional models) to a
float32 image batch in the manifest's output_range. Everything else — seeds, latents,
batching, truncation, validation of arguments, the NaN/Inf check and the uint8 conversion
of host outputs — belongs to the SDK facade (``ganedge.sdk.generator``), so a runner stays
a few dozen lines of glue. The one exception is declared, not hidden: a runner whose images
live on a GPU sets ``converts_on_device`` and implements :meth:`Runner.run_uint8`.
"""

from __future__ import annotations

import abc
import math
from typing import Any

import numpy as np

from ganedge.errors import NumericalError
from ganedge.artifacts.manifest import Manifest


class Runner(abc.ABC):
    #: one of ``ganedge.sdk.backends.BACKEND_NAMES``
    name: str = "?"
    #: "cpu", "cuda" or "cuda:N"
    device: str = "cpu"
    #: compute precision actually used: "fp32", "fp16", "bf16", "int8"
    precision: str = "fp32"
    #: largest batch one ``run`` call accepts (a TensorRT profile's max); None = unbounded
    max_batch: int | None = None
    #: True: :meth:`run_uint8` converts on the device and copies uint8 back once, and the Generator
    #: calls it instead of converting :meth:`run`'s float output on the host.
    converts_on_device: bool = False
    #: how the graph takes classes: "index" (int64 (n,)) or "onehot" (float (n, K) class weights; such a
    #: runner also accepts int64 indices and one-hot encodes them, so both forms give the same image)
    label_input: str = "index"

    def __init__(self, manifest: Manifest):
        self.manifest = manifest

    @abc.abstractmethod
    def run(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """z: C-contiguous float32 (n, latent_dim); labels: int64 (n,), float32 (n, K) class weights where
        ``label_input == "onehot"``, or None.

        Returns float32 (n, C, H, W) that the caller owns (it may convert it in place); its
        memory layout may be the runtime's own (NHWC memory under torch's channels_last).
        Must be safe to call from several threads at once (each call may allocate its own
        buffers, or the runner guards shared ones).
        """

    def run_uint8(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """uint8 (n, H, W, C), converted on the device; only for runners that ``converts_on_device``.

        Must equal ``ganedge.images.to_uint8_reference`` with the manifest's output range exactly,
        and must raise :class:`NonFiniteOutputError` naming the rows when the float output holds
        NaN or Inf: after the conversion they can no longer be seen."""
        raise NotImplementedError(f"the {self.name} runner converts on the host; call run()")

    def describe(self) -> dict[str, Any]:
        """What runs, for logs, ``backend="auto"`` reports and bench rows."""
        return {"backend": self.name, "device": self.device, "precision": self.precision}

    def close(self) -> None:
        """Release sessions, engines and device memory. Idempotent."""

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class NonFiniteOutputError(NumericalError):
    """NaN/Inf in a model's output; ``rows`` are the affected positions in the batch."""

    def __init__(self, message: str, rows: list[int]):
        super().__init__(message)
        self.rows = rows


def check_finite(images: np.ndarray) -> None:
    """Raise NonFiniteOutputError if a float image batch holds NaN or Inf.

    Fast path: one summation (NaN and Inf survive it; a tanh output cannot overflow it),
    about 1% of the uint8 conversion's time. Only a non-finite sum pays for the exact scan.
    """
    if images.size == 0 or math.isfinite(float(np.sum(images, dtype=np.float32))):
        return
    bad = ~np.isfinite(images.reshape(images.shape[0], -1)).all(axis=1)
    rows = [int(i) for i in np.flatnonzero(bad)]
    if rows:  # an all-finite batch whose sum overflowed float32 is not an error
        raise NonFiniteOutputError(f"the model produced NaN/Inf in {len(rows)} of {images.shape[0]} images", rows)


def pad_batch(z: np.ndarray, labels: np.ndarray | None, size: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Pad a batch of fewer than ``size`` rows with zero latents (label 0) up to ``size``.

    For graphs and engines that only take a fixed (or minimum) batch: each image depends on its
    own row only, so the padding rows' images are computed and dropped without touching the rest.
    """
    n = z.shape[0]
    if n >= size:
        return z, labels
    z = np.concatenate([z, np.zeros((size - n, z.shape[1]), z.dtype)])
    if labels is not None:
        labels = np.concatenate([labels, np.zeros(size - n, labels.dtype)])
    return z, labels


def run_fixed_batch(run, z: np.ndarray, labels: np.ndarray | None, batch: int) -> np.ndarray:
    """``run(z, labels)`` over a graph with a fixed batch: chunks of ``batch``, the last one padded."""
    parts = []
    for i in range(0, z.shape[0], batch):
        chunk_z, chunk_labels = z[i:i + batch], None if labels is None else labels[i:i + batch]
        out = run(*pad_batch(chunk_z, chunk_labels, batch))
        parts.append(out[:chunk_z.shape[0]])
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
