"""Quality beside speed: what fp16, bf16 or int8 costs, measured on the same seeds as fp32.

For each group of variants from one checkpoint, the reference is its fp32 member (the torch
run dir when present — the source of truth — else the fp32 ONNX, else an fp32 engine). Every
member samples the same seeds; against the reference we report

* ``psnr_db``: PSNR of the uint8 images (None when identical: MSE 0; the reference row's own
  value is None too), and ``max_level_diff``, the largest per-pixel difference in uint8 levels
  (the fp32 export gate allows 1);
* ``fd``: the Frechet distance of the member's images to the dataset's features
  (``ganedge.metrics.Evaluator``), and ``fd_increase`` relative to the reference's FD.

FD from a few hundred samples is biased upwards and noisy in absolute terms, but every member
uses the *same latents*, so the difference between members is mostly the precision's doing;
read ``fd_increase``, not ``fd``, across precisions, and FD numbers only at equal ``n``.
Output does not depend on the batch size (an SDK guarantee), so quality is measured once per
variant and repeated on its rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ganedge.images import psnr
from ganedge.bench.variants import Variant, balanced_labels
from ganedge.extras import needs

SAMPLE_BATCH = 64  # images per call while sampling for quality (speed does not matter here)


@dataclass
class Quality:
    reference: str | None  # label of the variant compared against
    psnr_db: float | None = None
    max_level_diff: int | None = None
    fd: float | None = None
    fd_increase: float | None = None  # (fd - fd_reference) / fd_reference

    def to_row(self) -> dict[str, Any]:
        return {"psnr_db": self.psnr_db, "max_level_diff": self.max_level_diff, "fd": self.fd,
                "fd_increase": self.fd_increase, "quality_reference": self.reference}


def _reference_rank(variant: Variant) -> tuple[int, int]:
    kind_rank = {"run_dir": 0, "module": 0, "onnx": 1, "engine": 2}[variant.artifact.kind]
    return (0 if variant.precision == "fp32" else 1, kind_rank)


def pick_reference(members: list[Variant]) -> Variant | None:
    best = min(members, key=_reference_rank)
    return best if best.precision == "fp32" else None


def _evaluator_factory():
    """``ganedge.metrics.Evaluator`` when the metrics package (and torch) are installed, else None."""
    try:
        from ganedge.metrics import Evaluator
    except ImportError:
        return None
    return Evaluator


def measure_quality(variants: list[Variant], n: int, seed: int, with_fd: bool = True,
                    on_variant: Callable[[Variant], None] | None = None) -> tuple[dict[int, Quality], list[str]]:
    """Quality per variant (keyed by ``id(variant)``) and warnings for what could not be measured."""
    warnings: list[str] = []
    Evaluator = _evaluator_factory() if with_fd else None
    if with_fd and Evaluator is None:
        warnings.append(f"{needs('FD', 'torch')}; reporting PSNR only")
    evaluators: dict[tuple[str, int], Any] = {}  # None where the evaluator could not be built

    def fd_of(variant: Variant, images: np.ndarray) -> float | None:
        if Evaluator is None:
            return None
        m = variant.generator.manifest
        key = (m.dataset or "scenes", m.height)
        if key not in evaluators:
            try:
                evaluators[key] = Evaluator(dataset=key[0], image_size=key[1], n=n)
            except Exception as exc:  # e.g. no feature net for this dataset: said once, PSNR still stands
                evaluators[key] = None
                warnings.append(f"no FD for {key[0]} at {key[1]}px: {type(exc).__name__}: {exc}")
        if evaluators[key] is None:
            return None
        return float(evaluators[key].score(images).fd)

    def sample(variant: Variant) -> np.ndarray:
        if on_variant:
            on_variant(variant)
        labels = balanced_labels(variant.generator.manifest, n)  # the same for every variant of a checkpoint
        return variant.generator.sample(n, seed=seed, batch_size=SAMPLE_BATCH, labels=labels)  # (n, H, W, C) uint8

    groups: dict[str, list[Variant]] = {}
    for variant in variants:
        groups.setdefault(variant.group, []).append(variant)
    result: dict[int, Quality] = {}
    for members in groups.values():
        reference = pick_reference(members)
        if reference is None:
            warnings.append(f"no fp32 member to compare {', '.join(v.label for v in members)} with; "
                            "add the fp32 export or the run dir to the sweep")
            for variant in members:
                result[id(variant)] = Quality(None, fd=fd_of(variant, sample(variant)))
            continue
        ref_images = sample(reference)
        ref_fd = fd_of(reference, ref_images)
        result[id(reference)] = Quality(reference.label, None, 0, ref_fd, 0.0 if ref_fd is not None else None)
        for variant in members:
            if variant is reference:
                continue
            images = sample(variant)
            value = psnr(images, ref_images)
            diff = int(np.abs(images.astype(np.int16) - ref_images.astype(np.int16)).max())
            fd = fd_of(variant, images)
            increase = (fd - ref_fd) / ref_fd if fd is not None and ref_fd else None
            result[id(variant)] = Quality(reference.label, value if np.isfinite(value) else None, diff, fd, increase)
    return result, warnings
