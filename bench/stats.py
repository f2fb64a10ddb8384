"""Latency statistics of one configuration: the numbers trtexec and perf_analyzer print.

Percentiles are ``np.percentile``'s linear interpolation between the two nearest ranks (its
default, Hyndman & Fan type 7): p50 of [1, 2, 3, 4] is 2.5, and pXX of n samples is exact only
when n is large enough to have a sample there. With fewer than 100 calls p99 is an
interpolation between the largest samples, so read it together with ``n_calls``.

The coefficient of variation (sample standard deviation / mean, ddof=1) measures how
much one call differs from the next. Above ``DEFAULT_MAX_CV`` (10 %) per-call times no
longer come from one steady state: another process, a frequency change, page faults or
the allocator are in the numbers, and the mean and tail say more about the machine than
about the model. 10 % is pyperf's instability threshold for the same reason; trtexec
warns at 1 % for *GPU compute* time, a much quieter quantity than host-timed CPU calls
on a shared machine, so we do not use its limit for host timings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

DEFAULT_MAX_CV = 0.10
PERCENTILES = (50, 90, 95, 99)


def percentiles(samples: Sequence[float] | np.ndarray, qs: Sequence[float]) -> list[float]:
    """The ``qs``-th percentiles (0..100) by ``np.percentile``'s linear interpolation between closest ranks."""
    values = np.asarray(samples, dtype=np.float64)
    if values.size == 0:
        raise ValueError("percentile of no samples")
    bad = [q for q in qs if not 0 <= q <= 100]
    if bad:
        raise ValueError(f"percentile {bad[0]} is outside [0, 100]")
    return [float(v) for v in np.percentile(values, list(qs), method="linear")]


def percentile(samples: Sequence[float] | np.ndarray, q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between closest ranks."""
    return percentiles(samples, (q,))[0]


def coefficient_of_variation(samples: Sequence[float] | np.ndarray) -> float | None:
    """Sample standard deviation over mean; None with fewer than two samples (no spread to see)."""
    values = np.asarray(samples, dtype=np.float64)
    if values.size < 2:
        return None
    mean = float(values.mean())
    if mean <= 0:
        return None
    return float(values.std(ddof=1) / mean)


@dataclass(frozen=True)
class LatencyStats:
    """Per-call latency in milliseconds, and how many calls stand behind it."""

    n: int
    min_ms: float
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    std_ms: float
    cv: float | None
    total_s: float  # sum of the timed calls

    @classmethod
    def from_seconds(cls, seconds: Sequence[float] | np.ndarray) -> "LatencyStats":
        ms = np.asarray(seconds, dtype=np.float64) * 1e3
        if ms.size == 0:
            raise ValueError("no timed calls to summarise")
        p50, p90, p95, p99 = percentiles(ms, PERCENTILES)
        return cls(
            n=int(ms.size),
            min_ms=float(ms.min()),
            mean_ms=float(ms.mean()),
            p50_ms=p50,
            p90_ms=p90,
            p95_ms=p95,
            p99_ms=p99,
            max_ms=float(ms.max()),
            std_ms=float(ms.std(ddof=1)) if ms.size > 1 else 0.0,
            cv=coefficient_of_variation(ms),
            total_s=float(ms.sum() / 1e3),
        )

    def items_per_s(self, items_per_call: int) -> float:
        """Throughput over the timed calls: items done / seconds spent in them."""
        return items_per_call * self.n / self.total_s if self.total_s > 0 else math.inf

    def unstable(self, max_cv: float = DEFAULT_MAX_CV) -> bool:
        return self.cv is not None and self.cv > max_cv
