"""The one small interface every backend implements (after Polygraphy's runners).

A Runner maps a float32 latent batch (and int64 labels for conditional models) to a
float32 image batch in the manifest's output_range. Everything else — seeds, latents,
batching, truncation, uint8 conversion, validation of arguments — belongs to the SDK
facade (``ganedge.sdk.generator``), so a backend stays a few dozen lines of glue.
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

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

        Returns float32 (n, C, H, W). Must be safe to call from several threads at once
        (each call may allocate its own buffers, or the runner guards shared ones).
        """

    def run_uint8(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray | None:
        """Optionally produce uint8 (n, H, W, C) directly (GPU backends convert on device and
        copy back once). Return None to let the facade convert :meth:`run`'s output on the CPU.
        Any implementation must equal ``ganedge.images.to_uint8_reference`` exactly."""
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
