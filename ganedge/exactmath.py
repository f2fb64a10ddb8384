"""float32 log, sin and cos that give the same bits on every CPU and in every language.

numpy's float32 ``log``/``sin``/``cos`` are fast SIMD approximations, not correctly rounded,
and which one runs depends on the CPU: on one AVX-512 machine 22% of float32 ``log`` values
and 11-17% of ``sin``/``cos`` values differ by 1-4 ulp from the nearest float32, and numpy's
SSE baseline gives other bits again. A latent defined through them is not the same vector on a
laptop, an ARM board and a web page.

The latents' transcendental inputs form two finite sets of 2**23 float32 values each (see
:mod:`ganedge.latents`): ``log`` is applied to ``r = 2 - u`` and ``sin``/``cos`` to
``theta = (u - 1.5) * float32(2*pi)`` for ``u`` = 1 + k/2**23, k < 2**23. Over every one of
those inputs the exact result lies at least 21 (log), 46 (sin) and 89 (cos) float64 ulps away
from the nearest float32 rounding boundary (tests/core/test_exactmath.py checks all 2**23 of
each). So any float64 evaluation with an error below that margin, rounded to float32, gives
the correctly rounded float32: ``numpy.log`` in float64 does, glibc's and V8's ``sin``/``cos``
do, and so does the polynomial below. That makes "the nearest float32 to the exact value" an
implementation-free definition that Python and JavaScript (``Math.fround(Math.log(x))``)
both meet bit for bit.

float64 ``sin``/``cos`` in numpy call libm one element at a time (~12 ns each), too slow for a
million latents a second, so large batches use fdlibm's kernels as whole-array float64 numpy
operations (Cody-Waite reduction by pi/2, degree-13/14 polynomials; error < 2 ulp).
"""

from __future__ import annotations

import numpy as np

# Below this many elements, numpy's own float64 sin/cos (libm per element) beat ~40 array operations.
SINCOS_POLY_MIN = 512

_INV_PIO2 = 6.36619772367581382433e-01
_PIO2_1 = 1.57079632673412561417e+00  # first 33 bits of pi/2: n * _PIO2_1 is exact for |n| <= 2
_PIO2_1T = 6.07710050650619224932e-11  # pi/2 - _PIO2_1
# fdlibm __kernel_sin / __kernel_cos coefficients (|r| <= pi/4).
_S1, _S2, _S3 = -1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04
_S4, _S5, _S6 = 2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10
_C1, _C2, _C3 = 4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05
_C4, _C5, _C6 = -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11


def log_f32(x: np.ndarray, out: np.ndarray, work: np.ndarray | None = None) -> np.ndarray:
    """``out[...] = float32(log(x))``, correctly rounded for the latents' inputs (float32 x in (0, 1]).

    ``work``: optional float64 scratch of x's shape (saves an allocation per call).
    """
    w = np.empty(x.shape, np.float64) if work is None else work
    np.copyto(w, x)  # then log in place: faster than letting the ufunc cast through its buffer
    np.log(w, out=w)
    np.copyto(out, w, casting="same_kind")
    return out


class SinCosWork:
    """Preallocated float64 scratch for :func:`sincos_f32` on up to ``size`` elements.

    Fresh numpy temporaries of this size come from mmap and page-fault on first touch, which
    costs more than the arithmetic; latents() makes one of these and reuses it for every chunk.
    """

    def __init__(self, size: int):
        self.size = size
        self.f64 = np.empty((6, size), dtype=np.float64)

    def views(self, shape: tuple[int, ...]) -> list[np.ndarray]:
        count = int(np.prod(shape))
        if count > self.size:
            raise ValueError(f"SinCosWork holds {self.size} elements, asked for {count}")
        return [a[:count].reshape(shape) for a in self.f64]


def sincos_f32(theta: np.ndarray, cos_out: np.ndarray, sin_out: np.ndarray, work: SinCosWork | None = None) -> None:
    """Correctly rounded float32 cos and sin of float32 ``theta`` in [-pi, pi] (the latents' angles)."""
    if theta.size < SINCOS_POLY_MIN:
        x = theta.astype(np.float64)
        np.copyto(cos_out, np.cos(x), casting="same_kind")
        np.copyto(sin_out, np.sin(x), casting="same_kind")
        return
    x, n, r, z, c, s = (work or SinCosWork(theta.size)).views(theta.shape)
    np.copyto(x, theta)
    _sincos_f64(x, n, r, z, c, s)
    np.copyto(cos_out, c, casting="same_kind")
    np.copyto(sin_out, s, casting="same_kind")


def _sincos_f64(x, n, r, z, c, s) -> None:
    """fdlibm's cos and sin of float64 |x| <= pi into c and s; x, n, r, z are scratch (x is overwritten).

    Whole-array float64 operations, in place, in a fixed order.
    """
    np.multiply(x, _INV_PIO2, out=n)
    np.rint(n, out=n)  # the quadrant, in {-2, ..., 2}
    np.multiply(n, _PIO2_1, out=z)
    x -= z  # exact (Sterbenz): x lies within pi/4 of n*pi/2
    np.multiply(n, _PIO2_1T, out=z)
    x -= z  # x is now the reduced argument, |x| <= pi/4
    np.multiply(x, x, out=z)
    # sin(x) = x + x^3 * (S1 + z * (S2 + ... + z*S6))
    np.multiply(z, _S6, out=s)
    for coef in (_S5, _S4, _S3, _S2):
        s += coef
        s *= z
    s += _S1
    s *= z
    s *= x
    s += x
    # cos(x) = w + (((1 - w) - z/2) + z^2 * (C1 + ... + z^5*C6)), w = 1 - z/2 (fdlibm's compensated form)
    np.multiply(z, _C6, out=c)
    for coef in (_C5, _C4, _C3, _C2):
        c += coef
        c *= z
    c += _C1
    c *= z
    c *= z  # z^2 * poly
    z *= 0.5
    np.subtract(1.0, z, out=r)  # w
    np.subtract(1.0, r, out=x)
    x -= z
    x += c
    x += r  # x = cos of the reduced argument; s = its sin
    # Rotate by the quadrant n: cos(n*pi/2 + a) = cq*cos a - sq*sin a, sin(n*pi/2 + a) = sq*cos a + cq*sin a,
    # where for n in {-2..2} and m = n^2: cq = (m - 1)(m - 6)/6 and sq = n(4 - m)/3, exact small integers.
    np.multiply(n, n, out=z)  # m
    np.subtract(4.0, z, out=r)
    r *= n
    r /= 3.0  # sq
    np.subtract(z, 1.0, out=n)
    z -= 6.0
    z *= n
    z /= 6.0  # cq
    np.multiply(z, x, out=c)  # cq*cos
    x *= r  # sq*cos
    r *= s  # sq*sin
    s *= z  # cq*sin
    s += x
    c -= r
