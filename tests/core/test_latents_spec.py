"""docs/contract.md, "Seeds and latents", followed line by line, must give what ganedge.latents gives.

The definition is written for people who reimplement it (a JavaScript client, a C++ server); this
test is such a reimplementation, in plain Python integers and numpy float32 scalars, so the text
and the code cannot drift apart. log/sin/cos are, as documented, the float32 nearest to the exact
value: Python's float64 ``math`` functions rounded once to float32, which the definition makes exact
(tests/core/test_exactmath.py checks every input), so the comparison is bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ganedge.latents import latents

GOLDEN = 0x9E3779B97F4A7C15
M1 = 0xBF58476D1CE4E5B9
M2 = 0x94D049BB133111EB
SALT = 0x6A09E667F3BCC909
MASK = (1 << 64) - 1


def mix(x: int) -> int:
    x ^= x >> 30
    x = (x * M1) & MASK
    x ^= x >> 27
    x = (x * M2) & MASK
    return x ^ (x >> 31)


def float32_from_bits(bits: int) -> np.float32:
    return np.array([bits], dtype=np.uint32).view(np.float32)[0]


def latent_as_documented(seed: int, dim: int) -> np.ndarray:
    key = mix((seed * GOLDEN + SALT) & MASK)
    half = (dim + 1) // 2
    z = np.empty(dim, dtype=np.float32)
    two_pi = np.float32(2 * np.pi)
    for j in range(half):
        b = mix((key + (j + 1) * GOLDEN) & MASK)
        hi, lo = b >> 32, b & 0xFFFFFFFF
        radius_uniform = float32_from_bits(0x3F800000 | (hi >> 9))
        angle_uniform = float32_from_bits(0x3F800000 | (lo >> 9))
        u = np.float32(2) - radius_uniform
        r = np.sqrt(np.float32(math.log(float(u))) * np.float32(-2))
        t = (angle_uniform - np.float32(1.5)) * two_pi
        z[j] = np.float32(math.cos(float(t))) * r
        if j < dim - half:
            z[half + j] = np.float32(math.sin(float(t))) * r
    return z


@pytest.mark.parametrize("dim", [1, 2, 3, 4, 7, 128])
def test_the_documented_definition_is_the_code(dim):
    seeds = [0, 1, 2, 12345, 2**32 + 7, 2**63 - 1]
    # 40 seeds: also the vectorized key path (the code hashes fewer than 32 seeds in Python).
    seeds += list(range(1000, 1034))
    expected = np.stack([latent_as_documented(s, dim) for s in seeds])
    np.testing.assert_array_equal(latents(seeds, dim), expected)


def test_the_reference_values_in_the_contract():
    np.testing.assert_allclose(latents([0], 4)[0], [-1.1764752, -1.8412395, 0.5699325, -0.6216135], atol=2e-6)
    np.testing.assert_allclose(latents([1], 3)[0], [-1.2001244, 0.5720185, -0.5826749], atol=2e-6)
