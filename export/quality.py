"""FD at export time: the int8 gate's second half, measured with ganedge.metrics.

The fp32 model and its int8 variant sample the same seeds and are scored by the same
Evaluator, so the comparison is paired and the FD noise mostly cancels. When FD cannot be
measured (the metrics package is not there, or the dataset has no feature net), the answer
says so and why: the gate never invents a number.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ganedge.errors import GanEdgeError
from ganedge.images import to_uint8_nhwc
from ganedge.latents import latents, seed_range
from ganedge.artifacts.manifest import Manifest

_SAMPLE_BATCH = 64
FD_FIRST_SEED = 2_000_000  # FD samples come from their own seed block, away from validation and calibration


def make_evaluator(manifest: Manifest, n: int | None, dataset_options: dict[str, Any] | None = None
                   ) -> tuple[Any | None, str]:
    """``(evaluator, "")`` or ``(None, why FD cannot be measured)``. ``n`` None: the Evaluator's default."""
    try:
        from ganedge.metrics import Evaluator
    except ImportError:
        return None, "ganedge.metrics.Evaluator is not available in this install"
    if not manifest.dataset:
        return None, "the run does not name its dataset"
    try:
        return Evaluator(dataset=manifest.dataset, image_size=manifest.height, n=n, channels=manifest.channels,
                         dataset_options=dataset_options or None), ""
    except GanEdgeError as exc:  # e.g. no feature net for this dataset, or too few real images
        return None, str(exc)


def sample_uint8(session, manifest: Manifest, n: int, first_seed: int = FD_FIRST_SEED) -> np.ndarray:
    """uint8 (n, H, W, C) images from an onnxruntime session on seeds first_seed.. (labels = seed mod classes)."""
    from ganedge.export.batching import run_onnx
    from ganedge.export.validate import labels_for

    out = np.empty((n, manifest.height, manifest.width, manifest.channels), dtype=np.uint8)
    for start in range(0, n, _SAMPLE_BATCH):
        seeds = seed_range(first_seed + start, min(_SAMPLE_BATCH, n - start))
        images = run_onnx(session, latents(seeds, manifest.latent_dim), labels_for(seeds, manifest.num_classes))
        to_uint8_nhwc(images, out=out[start:start + len(seeds)], inplace=True, output_range=manifest.output_range)
    return out


def fd_comparison(reference_session, candidate_session, manifest: Manifest, n: int | None = None,
                  log: Callable[[str], None] = lambda _: None,
                  dataset_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """FD of both sessions on the same seeds: {fd, fd_reference, increase, n, note}."""
    evaluator, why = make_evaluator(manifest, n, dataset_options)
    if evaluator is None:
        return {"fd": None, "fd_reference": None, "increase": None, "n": 0, "note": why}
    n = evaluator.n
    log(f"Measuring FD ({evaluator.feature_net}) on {n} samples of the fp32 reference and of the candidate...")
    try:
        fd_ref = float(evaluator.score(sample_uint8(reference_session, manifest, n)).fd)
        fd = float(evaluator.score(sample_uint8(candidate_session, manifest, n)).fd)
    except GanEdgeError as exc:
        return {"fd": None, "fd_reference": None, "increase": None, "n": 0, "note": str(exc)}
    increase = (fd - fd_ref) / fd_ref if fd_ref > 0 else (0.0 if fd <= fd_ref else float("inf"))
    return {"fd": fd, "fd_reference": fd_ref, "increase": increase, "n": n, "feature_net": evaluator.feature_net,
            "note": ""}
