"""ganedge.exactmath: the latents' log/sin/cos are the float32 nearest to the exact value, for
every input they can get (2**23 of each), which makes them the same bits on every CPU and in
JavaScript (tests/web/test_latents_js.py checks the JS side on the same inputs)."""

from __future__ import annotations

import numpy as np
import pytest

from ganedge import exactmath
from ganedge.exactmath import SinCosWork, log_f32, sincos_f32

STEP = 1 << 16


@pytest.fixture(scope="module")
def exact():
    """Every input the latents can give log (r) and sin/cos (theta), and float64 libm values of them."""
    u = (np.arange(1 << 23, dtype=np.uint32) | np.uint32(0x3F800000)).view(np.float32)  # [1, 2), as latents.py
    r, theta = np.float32(2.0) - u, (u - np.float32(1.5)) * np.float32(2.0 * np.pi)
    x = theta.astype(np.float64)
    return r, theta, {"log": np.log(r.astype(np.float64)), "cos": np.cos(x), "sin": np.sin(x)}


def _margin_ulps(exact: np.ndarray) -> float:
    """Smallest distance from ``exact`` (float64) to a float32 rounding boundary, in float64 ulps."""
    f = exact.astype(np.float32)
    up, down = np.nextafter(f, np.float32(np.inf)), np.nextafter(f, np.float32(-np.inf))
    to_mid = np.minimum(np.abs(exact - (f.astype(np.float64) + up) / 2), np.abs(exact - (f.astype(np.float64) + down) / 2))
    keep = exact != 0
    return float((to_mid[keep] / np.spacing(np.abs(exact[keep]))).min())


def test_every_input_is_far_from_a_float32_rounding_boundary(exact):
    """Why any accurate float64 evaluation rounds to the same float32: the exact results keep at least
    21 (log), 46 (sin) and 89 (cos) float64 ulps from every float32 midpoint; libm and numpy err by <= 4."""
    for name, values in exact[2].items():
        assert _margin_ulps(values) >= 16, name


def test_all_inputs_give_the_correctly_rounded_float32(exact):
    r, theta, reference = exact
    log, cos, sin = (np.empty_like(r) for _ in range(3))
    work, log_work = SinCosWork(STEP), np.empty(STEP)
    for i in range(0, r.size, STEP):
        log_f32(r[i:i + STEP], log[i:i + STEP], log_work[:min(STEP, r.size - i)])
        sincos_f32(theta[i:i + STEP], cos[i:i + STEP], sin[i:i + STEP], work)
    for name, got in (("log", log), ("cos", cos), ("sin", sin)):
        want = reference[name]
        bad = np.count_nonzero(got.view(np.uint32) != want.astype(np.float32).view(np.uint32))
        assert bad == 0, f"{name}: {bad} inputs not correctly rounded"


def test_small_and_large_paths_agree(monkeypatch):
    theta = np.linspace(-np.pi, np.pi, 401, dtype=np.float32)  # below SINCOS_POLY_MIN: numpy's float64 sin/cos
    small = [np.empty_like(theta) for _ in range(2)]
    sincos_f32(theta, *small)
    monkeypatch.setattr(exactmath, "SINCOS_POLY_MIN", 0)  # the whole-array polynomial even for few values
    large = [np.empty_like(theta) for _ in range(2)]
    sincos_f32(theta, *large)
    for a, b in zip(small, large):
        np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))


def test_work_buffer_too_small_is_refused():
    with pytest.raises(ValueError):
        sincos_f32(np.zeros(1000, np.float32), np.empty(1000, np.float32), np.empty(1000, np.float32), SinCosWork(10))
