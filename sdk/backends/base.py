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
