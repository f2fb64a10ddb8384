"""Latent vectors as a pure function of their seeds.

``latents(seeds, dim)[i]`` depends only on ``(seeds[i], dim)``: not on batch size,
position in the batch, backend or call order. That is what lets ``sample(1, seed=5)[0]``
equal ``sample(10, seed=0)[5]`` everywhere.

Generator: counter-based. Each seed is hashed to a 64-bit key; element pair ``j`` of
its vector comes from SplitMix64's output function applied to ``key + (j + 1) * golden``
(SplitMix64 itself, keyed per seed; it passes BigCrush). The 64 bits become two 23-bit
uniforms, and a Box-Muller transform turns each pair into two standard normals: the
first half of the vector holds the cosine branch, the second half the sine branch.
Everything is whole-array numpy, processed in cache-sized chunks, ``python -m ganedge.bench.micro latents`` measures the rate.
docs/contract.md, "Seeds and latents", spells the definition out for reimplementations.

Numbers are float32. Tails are cut at |z| < 5.65 (the smallest uniform is 2**-23), a
probability of ~1.6e-8 per value. log, sin and cos are the float32 nearest to the exact value
(:mod:`ganedge.exactmath`), not numpy's float32 ufuncs, whose last bits depend on the CPU: so
a seed's latent has the same bits on every machine, and in the browser (ganedge.js ports this
file; docs/web.md).
"""

from __future__ import annotations

import functools
import numbers
from typing import Iterable

import numpy as np

from ganedge.errors import BadInputError
from ganedge.exactmath import SINCOS_POLY_MIN, SinCosWork, log_f32, sincos_f32
from ganedge.limits import check_allocatable

MAX_SEED = 2**63  # seeds live in [0, MAX_SEED)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_KEY_SALT = np.uint64(0x6A09E667F3BCC909)  # keeps seed 0's key away from 0
_SHIFTS = tuple(np.uint64(s) for s in (30, 27, 31))
_MANTISSA_SHIFT = np.uint32(9)
_ONE_BITS = np.uint32(0x3F800000)  # float32 1.0: OR-ing 23 random mantissa bits gives [1, 2)
_CHUNK_PAIRS = 1 << 16  # elements per chunk: big enough to amortize numpy calls, small enough for L2


def _mix64(x: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """SplitMix64's output function, in place on uint64 ``x`` (``tmp`` is scratch of the same shape)."""
    s30, s27, s31 = _SHIFTS
    np.right_shift(x, s30, out=tmp)
    x ^= tmp
    x *= _MUL1
    np.right_shift(x, s27, out=tmp)
    x ^= tmp
    x *= _MUL2
    np.right_shift(x, s31, out=tmp)
    x ^= tmp
    return x


def _check_range(seeds: range) -> range:
    """A range of seeds, validated from its ends alone (no element is touched)."""
    if len(seeds) and not (0 <= min(seeds[0], seeds[-1]) and max(seeds[0], seeds[-1]) < MAX_SEED):
        bad = seeds[0] if not 0 <= seeds[0] < MAX_SEED else seeds[-1]
        raise BadInputError(f"seed {bad} is outside [0, 2**63)")
    return seeds


def _range_array(seeds: range) -> np.ndarray:
    """uint64 array of a validated range: one vectorized pass instead of a Python int per seed."""
    n = len(seeds)
    check_allocatable(n, (), f"{n:,} seeds", itemsize=8, hint="pass fewer seeds at a time")
    if n == 0:
        return np.empty(0, dtype=np.uint64)
    if seeds.step == 1:
        return np.arange(seeds[0], seeds[-1] + 1, dtype=np.uint64)
    # first + i * step, exact mod 2**64: every value is in [0, 2**63), so wrapping never shows (also for step < 0)
    array = np.arange(n, dtype=np.uint64)
    array *= np.uint64(seeds.step % 2**64)
    array += np.uint64(seeds[0])
    return array


def check_seeds(seeds: Iterable[int] | np.ndarray | int) -> np.ndarray:
    """Validate seeds (integers in [0, 2**63)) and return them as a 1-D uint64 array.

    A ``range`` is validated from its ends and becomes an array in one vectorized step (a list
    costs a Python object per seed: about as long as computing the latents themselves)."""
    if isinstance(seeds, (bool, np.bool_)):
        raise BadInputError("seeds must be integers in [0, 2**63), not a bool")
    if isinstance(seeds, range):
        return _range_array(_check_range(seeds))
    if isinstance(seeds, numbers.Integral):
        seeds = [int(seeds)]
    if isinstance(seeds, np.ndarray):
        array = seeds
    else:
        try:
            seed_list = list(seeds)
        except TypeError:
            raise BadInputError(f"seeds must be an integer or a sequence of integers, got {type(seeds).__name__}") from None
        for s in seed_list:
            if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral):
                raise BadInputError(f"seeds must be integers in [0, 2**63); got {s!r}")
            if not 0 <= int(s) < MAX_SEED:
                raise BadInputError(f"seed {int(s)} is outside [0, 2**63)")
        array = np.array([int(s) for s in seed_list], dtype=np.uint64)
    if array.dtype.kind not in "iu":
        raise BadInputError(f"seeds must be integers in [0, 2**63); got an array of {array.dtype}")
    array = array.ravel()
    if array.size and array.dtype.kind == "i" and int(array.min()) < 0:
        raise BadInputError(f"seed {int(array.min())} is outside [0, 2**63)")
    if array.size and array.dtype == np.uint64 and int(array.max()) >= MAX_SEED:
        raise BadInputError(f"seed {int(array.max())} is outside [0, 2**63)")
    return np.ascontiguousarray(array, dtype=np.uint64)


def check_seed_range(start: int, n: int) -> range:
    """Seeds ``start, start+1, ..., start+n-1`` validated, as a lazy ``range`` (any n: nothing is allocated)."""
    if isinstance(start, (bool, np.bool_)) or not isinstance(start, numbers.Integral):
        raise BadInputError(f"seed must be an integer in [0, 2**63), got {start!r}")
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
        raise BadInputError(f"n must be a non-negative integer, got {n!r}")
    start, n = int(start), int(n)
    if n < 0:
        raise BadInputError(f"n must be >= 0, got {n}")
    if not 0 <= start < MAX_SEED or start + n > MAX_SEED:
        raise BadInputError(f"seeds {start}..{start + n - 1} leave [0, 2**63)")
    return range(start, start + n)


def seed_range(start: int, n: int) -> np.ndarray:
    """Seeds ``start, start+1, ..., start+n-1`` as uint64, validated."""
    return _range_array(check_seed_range(start, n))


_SMALL_N = 32  # below this, hashing keys in Python beats ~10 numpy calls of fixed overhead
_MASK64 = (1 << 64) - 1


def _mix64_int(x: int) -> int:
    """:func:`_mix64` on one Python int (same arithmetic, mod 2**64)."""
    x ^= x >> 30
    x = (x * int(_MUL1)) & _MASK64
    x ^= x >> 27
    x = (x * int(_MUL2)) & _MASK64
    return x ^ (x >> 31)


def _seed_keys(seeds: np.ndarray) -> np.ndarray:
    """Per-seed 64-bit keys: mix64(seed * golden + salt). ``seeds`` is a uint64 array (not modified)."""
    if seeds.size < _SMALL_N:
        golden, salt = int(_GOLDEN), int(_KEY_SALT)
        return np.array([_mix64_int((int(s) * golden + salt) & _MASK64) for s in seeds], dtype=np.uint64)
    keys = seeds * _GOLDEN
    keys += _KEY_SALT
    return _mix64(keys, np.empty_like(keys))


@functools.lru_cache(maxsize=16)
def _counters(half: int) -> np.ndarray:
    """(j + 1) * golden for j < half; cached per dim and read-only, since it is shared across calls."""
    counters = np.arange(1, half + 1, dtype=np.uint64) * _GOLDEN
    counters.flags.writeable = False
    return counters


def _length(seeds) -> int:
    """How many seeds, where that is known without iterating (0 otherwise: checked again once they are an array)."""
    try:
        return np.size(seeds) if isinstance(seeds, np.ndarray) else len(seeds)
    except TypeError:
        return 0


def _check_fits(n: int, dim: int) -> None:
    check_allocatable(n, (dim,), f"latents of {n:,} seeds", itemsize=4, extra_nbytes=16 * n,
                      hint="compute them in parts: latents(seeds[i:j], dim)")


def latents(seeds: Iterable[int] | np.ndarray | int, dim: int, out: np.ndarray | None = None) -> np.ndarray:
    """Standard-normal float32 latents, one row per seed: shape ``(len(seeds), dim)``.

    ``out``, if given, must be a C-contiguous float32 array of that shape; it is filled and returned.
    """
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, numbers.Integral) or dim < 1:
        raise BadInputError(f"latent dim must be a positive integer, got {dim!r}")
    dim = int(dim)
    if out is None:  # before seeds become an array: the rows, the seeds and their keys (8 bytes each) must fit
        _check_fits(_length(seeds), dim)
    seeds = check_seeds(seeds)
    n = seeds.size
    half = (dim + 1) // 2
    if out is None:
        _check_fits(n, dim)
        out = np.empty((n, dim), dtype=np.float32)
    elif out.shape != (n, dim) or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise BadInputError(f"out must be a C-contiguous float32 array of shape {(n, dim)}")
    if n == 0:
        return out

    keys = _seed_keys(seeds)
    counters = _counters(half)
    rows_per_chunk = max(1, min(n, _CHUNK_PAIRS // half))
    scratch = _Scratch(rows_per_chunk, half)
    for start in range(0, n, rows_per_chunk):
        stop = min(n, start + rows_per_chunk)
        _fill_rows(out[start:stop], keys[start:stop], counters, scratch, half)
    return out


class _Scratch:
    """Work arrays for one chunk of rows, allocated once per call and sliced per chunk."""

    def __init__(self, rows: int, half: int):
        self.bits = np.empty((rows, half), dtype=np.uint64)
        self.tmp = np.empty_like(self.bits)
        self.radius = np.empty((rows, half), dtype=np.uint32)
        self.angle = np.empty_like(self.radius)
        self.cos = np.empty((rows, half), dtype=np.float32)
        self.sin = np.empty_like(self.cos)
        self.log = np.empty((rows, half), dtype=np.float64)
        self.sincos = SinCosWork(rows * half) if rows * half >= SINCOS_POLY_MIN else None


def _fill_rows(block: np.ndarray, keys: np.ndarray, counters: np.ndarray, scratch: _Scratch, half: int) -> None:
    """Write the latents of ``keys`` (m,) into ``block`` (m, dim): one SplitMix64 draw per element pair,
    Box-Muller on its two 23-bit halves (cosine branch first, sine branch second; odd dims drop the last sine)."""
    m = block.shape[0]
    x, tmp = scratch.bits[:m], scratch.tmp[:m]
    np.add(keys[:, None], counters[None, :], out=x)
    _mix64(x, tmp)

    words = x.view(np.uint32)  # (m, 2*half): low word, high word of each 64-bit value
    radius = scratch.radius[:m]
    np.right_shift(words[:, 1::2], _MANTISSA_SHIFT, out=radius)
    radius |= _ONE_BITS
    r = radius.view(np.float32)  # [1, 2)
    np.subtract(np.float32(2.0), r, out=r)  # (0, 1]: log is finite
    log_f32(r, out=r, work=scratch.log[:m])  # correctly rounded: the same bits on every CPU and in JavaScript
    r *= np.float32(-2.0)
    np.sqrt(r, out=r)

    angle = scratch.angle[:m]
    np.right_shift(words[:, 0::2], _MANTISSA_SHIFT, out=angle)
    angle |= _ONE_BITS
    theta = angle.view(np.float32)  # [1, 2)
    theta -= np.float32(1.5)  # [-0.5, 0.5): symmetric range keeps sin/cos fast
    theta *= np.float32(2.0 * np.pi)

    cos_t, t = scratch.cos[:m], scratch.sin[:m]
    sincos_f32(theta, cos_t, t, scratch.sincos)
    np.multiply(cos_t, r, out=block[:, :half])
    if block.shape[1] != 2 * half:  # odd dim: the last sine value is dropped
        np.multiply(t[:, : half - 1], r[:, : half - 1], out=block[:, half:])
    else:
        np.multiply(t, r, out=block[:, half:])
