"""The one small interface every backend implements (after Polygraphy's runners).

A Runner maps a float32 latent batch (and int64 labels for conditional models) to a
float32 image batch in the manifest's output_range. Everything else — seeds, latents,
batching, truncation, validation of arguments, NaN/Inf checks of ``run``'s output and the
uint8 conversion — belongs to the SDK facade (``ganedge.sdk.generator``), so a backend
stays a few dozen lines of glue.
"""

from __future__ import annotations

import abc
import math
from typing import Any

import numpy as np

from ganedge.errors import NumericalError
from ganedge.manifest import Manifest


class Runner(abc.ABC):
    #: "onnxruntime", "tensorrt" or "torch"
    name: str = "?"
    #: "cpu", "cuda" or "cuda:N"
    device: str = "cpu"
    #: compute precision actually used: "fp32", "fp16", "bf16", "int8"
    precision: str = "fp32"
    #: largest batch one ``run`` call accepts (a TensorRT profile's max); None = unbounded
    max_batch: int | None = None

    def __init__(self, manifest: Manifest):
        self.manifest = manifest

    @abc.abstractmethod
    def run(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """z: C-contiguous float32 (n, latent_dim); labels: int64 (n,) or None.

        Returns float32 (n, C, H, W) that the caller owns (it may convert it in place).
        Must be safe to call from several threads at once (each call may allocate its own
        buffers, or the runner guards shared ones).
        """

    def run_uint8(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray | None:
        """Optionally produce uint8 (n, H, W, C) directly, for backends that convert more cheaply
        than the facade can (on the GPU with one copy back, or from a buffer they reuse).
        Return None to let the facade convert :meth:`run`'s output on the CPU.

        Any implementation must equal ``ganedge.images.to_uint8_reference`` exactly, and must
        raise :class:`NumericalError` (e.g. via :func:`check_finite`) when the float output
        holds NaN or Inf: after the conversion they can no longer be seen."""
        return None

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
