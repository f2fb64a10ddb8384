"""Uniform random numbers as a pure function of (seed, item index, field).

The procedural datasets draw every random choice of item ``i`` from here, so item ``i`` is
the same image whatever batch it is rendered in and whichever items come before it. It uses
the same SplitMix64 mixing as ``ganedge.latents`` (keyed per item, counter per field), all
whole-array numpy: no Generator object per item.
"""

from __future__ import annotations

import numpy as np

from ganedge.latents import _mix64  # the project's one SplitMix64 output function

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_INDEX_MUL = np.uint64(0xD6E8FEB86659FD93)  # odd, so index -> key is a bijection before mixing
_TOP53 = np.uint64(11)


def item_keys(seed: int, indices: np.ndarray, salt: int) -> np.ndarray:
    """One 64-bit key per item: mixes (salt, seed) once, then each index into it."""
    base = np.array([int(seed) & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64)
    base ^= np.uint64(salt & 0xFFFFFFFFFFFFFFFF)
    _mix64(base, np.empty_like(base))
    keys = np.asarray(indices, dtype=np.int64).astype(np.uint64)
    keys *= _INDEX_MUL
    keys += base
    _mix64(keys, np.empty_like(keys))
    return keys


def uniforms(keys: np.ndarray, num_fields: int) -> np.ndarray:
    """float64 (n, num_fields) in [0, 1): field ``j`` of item ``k`` depends only on (keys[k], j)."""
    counters = np.arange(1, num_fields + 1, dtype=np.uint64) * _GOLDEN
    x = keys[:, None] + counters[None, :]  # (n, F)
    _mix64(x, np.empty_like(x))
    x >>= _TOP53
    return x.astype(np.float64) * (1.0 / (1 << 53))
