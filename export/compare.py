"""How two image batches differ, in numbers (after Polygraphy's comparator).

Numpy only: the validation gate, ``ganedge verify`` and the bench's quality column share it.
Every statistic names where its extreme sits and the smallest tolerance that would have
passed, so a failure says by how much it failed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ganedge.errors import BadInputError
from ganedge.images import psnr
from ganedge.jsonable import json_safe  # re-exported: validate and verify import it from here

_REL_FLOOR = 1e-12  # relative error divides by |reference|; keep exact zeros from dividing by zero


@dataclass(frozen=True)
class ErrorStats:
    """Element-wise differences between a candidate and a reference float batch."""

    shape: tuple[int, ...]
    max_abs: float
    mean_abs: float
    median_abs: float
    max_abs_at: tuple[int, ...]  # index (n, c, h, w) of the largest absolute error
    max_rel: float
    mean_rel: float
    median_rel: float
    max_rel_at: tuple[int, ...]
    nonfinite: int  # NaN/Inf values in the candidate
    reference_nonfinite: int

    @property
    def min_atol(self) -> float:
        """The smallest absolute tolerance that would have passed."""
        return self.max_abs

    @property
    def min_rtol(self) -> float:
        return self.max_rel

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["shape"] = list(self.shape)
        data["max_abs_at"] = list(self.max_abs_at)
        data["max_rel_at"] = list(self.max_rel_at)
        data["min_atol"] = self.min_atol
        data["min_rtol"] = self.min_rtol
        return json_safe(data)


def error_stats(reference: np.ndarray, candidate: np.ndarray) -> ErrorStats:
    """Absolute and relative error statistics of ``candidate`` against ``reference`` (same shape)."""
    if reference.shape != candidate.shape:
        raise BadInputError(f"cannot compare outputs of shapes {reference.shape} and {candidate.shape}")
    ref = reference.astype(np.float64, copy=False)
    cand = candidate.astype(np.float64, copy=False)
    nonfinite = int(np.count_nonzero(~np.isfinite(cand)))
    ref_nonfinite = int(np.count_nonzero(~np.isfinite(ref)))
    if ref.size == 0:
        zero = tuple(0 for _ in ref.shape)
        return ErrorStats(tuple(ref.shape), 0.0, 0.0, 0.0, zero, 0.0, 0.0, 0.0, zero, 0, 0)
    absdiff = np.abs(cand - ref)
    # NaN anywhere is the worst possible error: make it win the argmax and show as inf.
    absdiff = np.where(np.isnan(absdiff), np.inf, absdiff)
    reldiff = absdiff / np.maximum(np.abs(ref), _REL_FLOOR)
    abs_at = np.unravel_index(int(np.argmax(absdiff)), absdiff.shape)
    rel_at = np.unravel_index(int(np.argmax(reldiff)), reldiff.shape)
    return ErrorStats(
        shape=tuple(ref.shape),
        max_abs=float(absdiff[abs_at]),
        mean_abs=float(np.mean(absdiff)),
        median_abs=float(np.median(absdiff)),
        max_abs_at=tuple(int(i) for i in abs_at),
        max_rel=float(reldiff[rel_at]),
        mean_rel=float(np.mean(reldiff)),
        median_rel=float(np.median(reldiff)),
        max_rel_at=tuple(int(i) for i in rel_at),
        nonfinite=nonfinite,
        reference_nonfinite=ref_nonfinite,
    )


@dataclass(frozen=True)
class ImageStats:
    """Per-image differences of two uint8 (N, H, W, C) batches."""

    psnr_db: float  # over the whole batch (mean squared error of all pixels)
    per_image_psnr: np.ndarray  # (N,) dB, inf where identical
    per_image_max_level: np.ndarray  # (N,) largest |a - b| in uint8 levels
    max_level: int

    def worst(self, seeds: list[int] | np.ndarray, k: int = 5, per_image_max_abs: np.ndarray | None = None):
        """The ``k`` images with the lowest PSNR as dicts {seed, psnr_db, max_level[, max_abs]}."""
        # Lowest PSNR first; among equal PSNR (e.g. all identical in uint8) the largest float error first.
        tiebreak = np.zeros_like(self.per_image_psnr) if per_image_max_abs is None else -per_image_max_abs
        order = np.lexsort((tiebreak, self.per_image_psnr))[:k]
        rows = []
        for i in order:
            row = {"seed": int(seeds[i]), "psnr_db": float(self.per_image_psnr[i]),
                   "max_level": int(self.per_image_max_level[i])}
            if per_image_max_abs is not None:
                row["max_abs"] = float(per_image_max_abs[i])
            rows.append(row)
        return rows


def image_stats(reference_u8: np.ndarray, candidate_u8: np.ndarray) -> ImageStats:
    if reference_u8.shape != candidate_u8.shape or reference_u8.dtype != np.uint8 or candidate_u8.dtype != np.uint8:
        raise BadInputError(
            f"image comparison needs two uint8 batches of one shape, got {reference_u8.dtype}{reference_u8.shape} "
            f"and {candidate_u8.dtype}{candidate_u8.shape}"
        )
    n = reference_u8.shape[0]
    diff = reference_u8.astype(np.int16) - candidate_u8.astype(np.int16)  # (N, H, W, C)
    mse = np.mean(diff.reshape(n, -1).astype(np.float64) ** 2, axis=1) if n else np.zeros(0)
    with np.errstate(divide="ignore"):
        per_image = np.where(mse == 0, np.inf, 10.0 * np.log10(255.0**2 / np.where(mse == 0, 1.0, mse)))
    levels = np.abs(diff).reshape(n, -1).max(axis=1) if n else np.zeros(0, dtype=np.int16)
    return ImageStats(
        psnr_db=psnr(reference_u8, candidate_u8),
        per_image_psnr=per_image,
        per_image_max_level=levels.astype(np.int64),
        max_level=int(levels.max()) if n else 0,
    )


def per_image_max_abs(reference: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """(N,) largest absolute float difference per image (NaN counts as inf)."""
    n = reference.shape[0]
    if n == 0:
        return np.zeros(0)
    diff = np.abs(candidate.astype(np.float64) - reference.astype(np.float64)).reshape(n, -1)
    diff = np.where(np.isnan(diff), np.inf, diff)
    return diff.max(axis=1)


def format_db(value: float | None) -> str:
    if value is None:
        return "n/a"
    return "inf dB (identical)" if math.isinf(value) else f"{value:.2f} dB"
