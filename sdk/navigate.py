"""Paths through latent space: interpolations and walks whose every frame is a pure function of its description.

A frame's latent depends only on its two key latents (``za``, ``zb``) and its position ``t`` on the
segment between them, never on how frames are batched, so a walk gives the same images at any batch size
and (within the usual cross-backend tolerance) on every backend. The JavaScript of ``ganedge export web``
implements the same arithmetic; keep the two equal.

The formula (``path_coefficients``; all in float64, the IEEE double every language has):

1. ``t = j / F`` for frame ``j`` of a segment of ``F`` frames (``i / (steps - 1)`` for ``interpolate``).
2. ``t == 0`` gives ``za`` and ``t == 1`` gives ``zb``, copied exactly: the ends of a path are the
   seeds' own latents, so their images equal ``sample_seeds([seed])`` bit for bit.
3. ``lerp``: ``ca = 1 - t``, ``cb = t``.
4. ``slerp`` (Shoemake's formula on the unnormalised vectors, as in White, "Sampling Generative Networks",
   2016): with ``dot = fsum(a*b)``, ``na = sqrt(fsum(a*a))``, ``nb = sqrt(fsum(b*b))`` (``fsum``: the
   correctly rounded sum of the float64 products, so the result does not depend on summation order),
   ``cos = clip(dot / (na * nb), -1, 1)``, ``omega = acos(cos)``, ``s = sin(omega)``:
   ``ca = sin((1 - t) * omega) / s``, ``cb = sin(t * omega) / s``. Where ``na == 0``, ``nb == 0`` or
   ``s < SLERP_EPS`` (the vectors are parallel or opposite: slerp is then lerp or undefined) it falls
   back to lerp's coefficients.
5. ``z = float32(ca * a + cb * b)``, element by element in float64 (two products and one sum, each
   rounded once; no fused multiply-add), then rounded once to float32.

Class labels (conditional models whose graph takes class weights, see ``labels.py``) always blend
linearly: ``w = float32((1 - t) * onehot(ka) + t * onehot(kb))``.

Numpy and JavaScript compute steps 3-5 identically; ``acos``/``sin`` come from the platform's maths
library and may differ in the last bit of a double, which the final float32 rounding almost always hides.
"""

from __future__ import annotations

import collections
import math
import numbers
import time
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np

from ganedge.errors import BadInputError, QueueFullError
from ganedge.latents import check_seeds
from ganedge.sdk.labels import INTEGER_ONLY, key_classes

MODES = ("slerp", "lerp")
SLERP_EPS = 1e-6  # below this sin(omega) the two directions are (anti)parallel: use lerp
MAX_FRAMES = 10_000_000  # a typo like --frames 10**12 should fail at once, not after days


def check_mode(mode: Any) -> str:
    if mode not in MODES:
        raise BadInputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def _count(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < minimum:
        raise BadInputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class Segment:
    """The constants of one key pair: both keys in float64 and slerp's angle (None: use lerp)."""

    a: np.ndarray  # float64 (d,)
    b: np.ndarray
    za: np.ndarray  # the float32 keys themselves, returned exactly at t = 0 and t = 1
    zb: np.ndarray
    omega: float | None
    sin_omega: float

    @classmethod
    def of(cls, za: np.ndarray, zb: np.ndarray, mode: str) -> "Segment":
        a, b = za.astype(np.float64), zb.astype(np.float64)
        omega, s = None, 0.0
        if mode == "slerp":
            na, nb = math.sqrt(math.fsum(a * a)), math.sqrt(math.fsum(b * b))
            if na > 0.0 and nb > 0.0:
                cos = min(1.0, max(-1.0, math.fsum(a * b) / (na * nb)))
                omega = math.acos(cos)
                s = math.sin(omega)
                if s < SLERP_EPS:
                    omega = None
        return cls(a, b, za, zb, omega, s)

    def coefficients(self, t: float) -> tuple[float, float]:
        if self.omega is None:
            return 1.0 - t, t
        return math.sin((1.0 - t) * self.omega) / self.sin_omega, math.sin(t * self.omega) / self.sin_omega

    def at(self, ts: Sequence[float]) -> np.ndarray:
        """float32 (len(ts), d): the latents at positions ``ts`` on this segment."""
        coeffs = np.array([self.coefficients(t) for t in ts], dtype=np.float64).reshape(len(ts), 2)
        z = (coeffs[:, :1] * self.a + coeffs[:, 1:] * self.b).astype(np.float32)
        for row, t in enumerate(ts):  # the ends are the keys themselves, whatever the arithmetic gave
            if t == 0.0:
                z[row] = self.za
            elif t == 1.0:
                z[row] = self.zb
        return z


def interpolate_latents(za: np.ndarray, zb: np.ndarray, t, mode: str = "slerp") -> np.ndarray:
    """float32 latents at positions ``t`` (a number or a sequence in [0, 1]) between ``za`` and ``zb``.

    ``za``, ``zb``: float32 (d,). A number gives (d,); a sequence gives (len(t), d).
    """
    check_mode(mode)
    za, zb = _key(za, "za"), _key(zb, "zb")
    if za.shape != zb.shape:
        raise BadInputError(f"za and zb must have the same shape, got {za.shape} and {zb.shape}")
    scalar = isinstance(t, numbers.Real)
    ts = [float(t)] if scalar else [float(v) for v in t]
    if any(not (0.0 <= v <= 1.0) for v in ts):
        raise BadInputError("t must lie in [0, 1]")
    z = Segment.of(za, zb, mode).at(ts)
    return z[0] if scalar else z


def _key(z: Any, name: str) -> np.ndarray:
    if not isinstance(z, np.ndarray) or z.dtype != np.float32 or z.ndim != 1:
        raise BadInputError(f"{name} must be a float32 vector, got {getattr(z, 'dtype', type(z).__name__)} "
                            f"{getattr(z, 'shape', '')}")
    if not np.isfinite(z).all():
        raise BadInputError(f"{name} holds NaN or Inf")
    return z


def interpolation_ts(steps: int) -> list[float]:
    """``steps`` positions from 0 to 1 inclusive: ``i / (steps - 1)``."""
    steps = _count(steps, "steps", 2)
    return [i / (steps - 1) for i in range(steps)]


@dataclass(frozen=True)
class Path:
    """A walk through ``keys`` (float32 (k, d), already truncated): ``frames_per_step`` frames per key pair.

    Frame ``i`` lies in segment ``i // F`` (key ``s`` to key ``s + 1``, wrapping to key 0 when ``loop``)
    at ``t = (i % F) / F``. Without ``loop`` the walk ends on the last key itself:
    ``(k - 1) * F + 1`` frames. With ``loop`` there are ``k * F`` frames and the frame after the
    last would be the first again. ``classes``: one class index per key (or None); they blend where
    two neighbours differ.
    """

    keys: np.ndarray
    frames_per_step: int
    mode: str = "slerp"
    loop: bool = False
    classes: tuple[int, ...] | None = None
    num_classes: int = 0

    def __post_init__(self) -> None:
        check_mode(self.mode)
        _count(self.frames_per_step, "frames_per_step", 1)
        if self.keys.ndim != 2 or self.keys.shape[0] < 2:
            raise BadInputError(f"a walk needs at least 2 seeds (or latents), got {self.keys.shape[0]}")
        if self.frames > MAX_FRAMES:
            raise BadInputError(f"a walk of {self.frames:,} frames is too long (max {MAX_FRAMES:,}); "
                                "lower frames_per_step or use fewer seeds")

    @property
    def frames(self) -> int:
        return frame_count(self.keys.shape[0], self.frames_per_step, self.loop)

    @property
    def blends(self) -> bool:
        """True when some frames mix two classes (neighbouring keys have different classes)."""
        if self.classes is None:
            return False
        k = len(self.classes)
        pairs = range(k) if self.loop else range(k - 1)
        return any(self.classes[s] != self.classes[(s + 1) % k] for s in pairs)

    def _position(self, i: int) -> tuple[int, int, float]:
        segment, j = divmod(i, self.frames_per_step)
        k = self.keys.shape[0]
        return segment % k, (segment + 1) % k, j / self.frames_per_step

    def latents(self, start: int, stop: int) -> np.ndarray:
        """float32 (stop - start, d): the latents of frames start .. stop-1 (each independent of the others)."""
        out = np.empty((stop - start, self.keys.shape[1]), dtype=np.float32)
        i = start
        while i < stop:  # one segment at a time; rows are computed independently, so grouping changes nothing
            a, b, _ = self._position(i)
            end = min(stop, (i // self.frames_per_step + 1) * self.frames_per_step)
            ts = [self._position(j)[2] for j in range(i, end)]
            out[i - start:end - start] = Segment.of(self.keys[a], self.keys[b], self.mode).at(ts)
            i = end
        return out

    def labels(self, start: int, stop: int) -> np.ndarray | None:
        """None (unconditional), int64 class indices, or float32 (m, K) class weights where classes blend."""
        if self.classes is None:
            return None
        if not self.blends:
            return np.full(stop - start, self.classes[0], dtype=np.int64)
        weights = np.zeros((stop - start, self.num_classes), dtype=np.float64)
        for row, i in enumerate(range(start, stop)):
            a, b, t = self._position(i)
            ka, kb = self.classes[a], self.classes[b]
            if ka == kb or t == 0.0:
                weights[row, ka] = 1.0
            else:
                weights[row, ka], weights[row, kb] = 1.0 - t, t
        return weights.astype(np.float32)


# --- rendering a path through a Generator (or a Batcher) ------------------------------------------


def key_latents(g, keys, psi: float) -> np.ndarray:
    """float32 (k, latent_dim): each key's latent, scaled by truncation ``psi`` exactly as ``sample`` scales it.

    ``keys``: seeds, float32 latents (latent_dim,), a mix of both, or one float32 array (k, latent_dim)."""
    dim = g.manifest.latent_dim
    if isinstance(keys, np.ndarray) and keys.dtype.kind == "f":
        if keys.dtype != np.float32 or keys.ndim != 2 or keys.shape[1] != dim:
            raise BadInputError(f"latents must be float32 of shape (k, {dim}), got {keys.dtype} {keys.shape}")
        rows = list(keys)
    else:
        rows = list(keys)
    if all(not isinstance(r, np.ndarray) for r in rows):
        return g._seed_latents(check_seeds(rows), psi)
    out = np.empty((len(rows), dim), dtype=np.float32)
    for i, key in enumerate(rows):
        if isinstance(key, np.ndarray):
            if key.dtype != np.float32 or key.shape != (dim,) or not np.isfinite(key).all():
                raise BadInputError(f"a latent key must be a finite float32 vector of shape ({dim},), "
                                    f"got {key.dtype} {key.shape}")
            out[i] = key
            if psi != 1.0:
                out[i] *= np.float32(psi)
        else:
            out[i] = g._seed_latents(check_seeds([key]), psi)[0]
    return out


def build_path(g, keys, frames_per_step: int, mode: str, loop: bool, truncation: float, labels) -> Path:
    """The checked description of a walk on ``g``; every argument error surfaces here, before any frame."""
    from ganedge.sdk.generator import check_truncation

    check_mode(mode)
    _count(frames_per_step, "frames_per_step", 1)
    z = key_latents(g, keys, check_truncation(truncation))
    classes = key_classes(g.manifest, labels, z.shape[0])
    path = Path(z, int(frames_per_step), mode, bool(loop), classes, g.manifest.num_classes)
    if path.blends and g.runner.label_input != "onehot":
        raise BadInputError(INTEGER_ONLY)
    return path


def _direct(g, path: Path, step: int) -> Iterator[np.ndarray]:
    for start in range(0, path.frames, step):
        stop = min(start + step, path.frames)
        z, labels = path.latents(start, stop), path.labels(start, stop)
        with g._call():  # per batch, so a paused consumer never blocks close()
            frames = g._render_latents(z, labels)
        yield frames


def _through(batcher, path: Path, step: int, ahead: int = 2, patience_s: float = 60.0) -> Iterator[np.ndarray]:
    """Frames served by a Batcher: ``ahead`` requests in flight; a full queue is waited out, not an error."""
    pending: collections.deque = collections.deque()
    start = 0
    while start < path.frames or pending:
        waited = 0.0
        while start < path.frames and len(pending) < ahead:
            stop = min(start + step, path.frames)
            try:
                pending.append(batcher.submit_latents(path.latents(start, stop), path.labels(start, stop)))
            except QueueFullError:
                if pending:
                    break  # take a result first; that frees room
                if waited >= patience_s:
                    raise
                time.sleep(0.005)
                waited += 0.005
                continue
            start = stop
        yield pending.popleft().result()


def walk(g, seeds, frames_per_step: int, mode: str = "slerp", loop: bool = False, truncation: float = 1.0,
         labels=None, batch_size: int | None = None, batcher=None) -> Iterator[np.ndarray]:
    """:meth:`Generator.walk`."""
    path = build_path(g, seeds, frames_per_step, mode, loop, truncation, labels)
    if batcher is not None and batcher.generator is not g:
        raise BadInputError("this batcher serves another Generator; pass one built on this one")
    step = g._batch_size(batch_size, path.frames) if batcher is None or batch_size is not None else batcher.max_batch
    g._raise_if_closed()
    return _direct(g, path, step) if batcher is None else _through(batcher, path, step)


def interpolate(g, a, b, steps: int, mode: str = "slerp", truncation: float = 1.0, labels=None,
                batch_size: int | None = None) -> np.ndarray:
    """:meth:`Generator.interpolate`: a walk over the two keys with ``steps - 1`` frames per step."""
    steps = _count(steps, "steps", 2)
    if steps > MAX_FRAMES:
        raise BadInputError(f"steps={steps:,} is too many (max {MAX_FRAMES:,})")
    path = build_path(g, [a, b], steps - 1, mode, False, truncation, labels)
    c, h, w = g.manifest.image_shape
    out = np.empty((steps, h, w, c), dtype=np.uint8)
    done = 0
    for frames in _direct(g, path, g._batch_size(batch_size, steps)):
        out[done:done + frames.shape[0]] = frames
        done += frames.shape[0]
    return out


def frame_count(keys: int, frames_per_step: int, loop: bool) -> int:
    """How many frames a walk over ``keys`` keys has (what :meth:`Generator.walk` yields in all)."""
    return keys * frames_per_step if loop else (keys - 1) * frames_per_step + 1
