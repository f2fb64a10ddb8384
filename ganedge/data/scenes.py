"""``scenes``: procedural multi-object images (in the spirit of Multi-dSprites / Tetrominoes).

Each image: a two-colour linear gradient background and 1-4 flat-coloured objects (circle,
square, triangle; optionally diamond) drawn in order, so later objects really occlude
earlier ones. Item ``i`` is a pure function of (seed, i, options): every random choice comes
from ``counter_random``, and rendering is whole-batch numpy.

Chosen for a small GAN trained for minutes on a CPU: flat saturated colours from a small
palette (distinct within an image), objects 30-50% of the side, simple backgrounds. Edges are
anti-aliased from a signed distance (coverage = clip(0.5 - distance, 0, 1)): one pixel of
ramp, which a conv generator can match, where hard aliased edges would add stair-step
high frequencies the GAN (and the metric) would chase. Objects keep their centres at least
``min_separation * (r1 + r2)`` apart: overlaps happen often, total occlusion never, so the
object count stays visible.

Labels: object count - 1 (``num_classes = max_objects``). ``attributes(indices)`` gives the
multi-hot "shapes present" array; ``layout(indices)`` every object's parameters.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ganedge.data.base import Dataset, as_indices, check_channels, check_image_size
from ganedge.data.counter_random import item_keys, uniforms
from ganedge.errors import DatasetError

SCENES_VERSION = 1  # bump when the images for a given (seed, index, options) change
NOMINAL_SIZE = 1 << 30  # len() of the procedural dataset: items exist for any index
SHAPES = ("circle", "square", "triangle", "diamond")
DEFAULT_SHAPES = ("circle", "square", "triangle")
DEFAULT_PALETTE = ("#e6261f", "#2fcc3a", "#2d5cf2", "#f5d517", "#e536d9", "#1fd6e6", "#ff8c0d", "#f2f2f2")
_SALT = 0x5CE4E5  # separates scene randomness from any other use of the same seed
_CANDIDATES = 16  # placement tries per object; the first that keeps its distance wins
_CHUNK = 256  # images rendered per pass: keeps (chunk, H, W) temporaries in cache


def _parse_colour(value: Any) -> tuple[float, float, float]:
    if isinstance(value, str):
        text = value.lstrip("#")
        if len(text) != 6:
            raise ValueError(f"colour {value!r} is not #rrggbb")
        rgb = tuple(int(text[i : i + 2], 16) for i in (0, 2, 4))
    else:
        rgb = tuple(int(v) for v in value)
        if len(rgb) != 3 or min(rgb) < 0 or max(rgb) > 255:
            raise ValueError(f"colour {value!r} is not three integers in 0..255")
    return tuple(v / 255.0 for v in rgb)  # type: ignore[return-value]


@dataclass(frozen=True)
class ScenesConfig:
    """The knobs of ``scenes``. Defaults are the demo's; changing them changes the images."""

    image_size: int = 32
    channels: int = 3  # 1 = luma of the RGB scene
    min_objects: int = 1
    max_objects: int = 4
    shapes: tuple[str, ...] = DEFAULT_SHAPES
    palette: tuple[str, ...] = DEFAULT_PALETTE  # "#rrggbb"; each image uses distinct colours
    object_scale: tuple[float, float] = (0.30, 0.50)  # object width as a fraction of the side
    min_separation: float = 0.7  # centre distance >= this * (r1 + r2); < 1 allows occlusion
    background: str = "gradient"  # "gradient" (two colours) or "flat"
    background_range: tuple[float, float] = (0.10, 0.55)  # muted: per-channel range of bg colours
    antialias: bool = True

    @classmethod
    def from_options(cls, image_size: int, channels: int | None, options: dict[str, Any]) -> "ScenesConfig":
        known = {f.name for f in dataclasses.fields(cls)} - {"image_size", "channels"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise DatasetError(f"scenes: unknown option {unknown[0]!r}; known options: {', '.join(sorted(known))}")
        opts = dict(options)
        try:
            if "palette" in opts:
                palette = opts["palette"]
                if palette == "default":
                    palette = DEFAULT_PALETTE
                rgb = [_parse_colour(c) for c in palette]
                opts["palette"] = tuple("#%02x%02x%02x" % tuple(round(v * 255) for v in c) for c in rgb)
            for name in ("shapes",):
                if name in opts:
                    opts[name] = (opts[name],) if isinstance(opts[name], str) else tuple(opts[name])
            for name in ("object_scale", "background_range"):
                if name in opts:
                    opts[name] = tuple(float(v) for v in opts[name])
        except (TypeError, ValueError) as exc:
            raise DatasetError(f"scenes: bad option value ({exc})") from None
        config = cls(image_size=check_image_size(image_size, "scenes"),
                     channels=check_channels(channels, "scenes") or 3, **opts)
        config.validate()
        return config

    def validate(self) -> None:
        def bad(message: str) -> DatasetError:
            return DatasetError(f"scenes: {message}")

        for name in ("min_objects", "max_objects"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise bad(f"{name} must be an integer, got {value!r}")
        if not 1 <= self.min_objects <= self.max_objects <= 8:
            raise bad(f"need 1 <= min_objects <= max_objects <= 8, got {self.min_objects}..{self.max_objects}")
        if not self.shapes or any(s not in SHAPES for s in self.shapes) or len(set(self.shapes)) != len(self.shapes):
            raise bad(f"shapes must be distinct names from {', '.join(SHAPES)}; got {list(self.shapes)}")
        if len(self.palette) < self.max_objects:
            raise bad(f"palette needs at least max_objects={self.max_objects} colours (objects in an image differ), got {len(self.palette)}")
        lo, hi = self.object_scale if len(self.object_scale) == 2 else (0, -1)
        if not 0.05 <= lo <= hi <= 0.9:
            raise bad(f"object_scale must be (lo, hi) with 0.05 <= lo <= hi <= 0.9, got {self.object_scale}")
        if not 0.0 <= self.min_separation <= 2.0:
            raise bad(f"min_separation must be in [0, 2], got {self.min_separation}")
        if self.background not in ("gradient", "flat"):
            raise bad(f"background must be 'gradient' or 'flat', got {self.background!r}")
        blo, bhi = self.background_range if len(self.background_range) == 2 else (0, -1)
        if not 0.0 <= blo <= bhi <= 1.0:
            raise bad(f"background_range must be (lo, hi) within [0, 1], got {self.background_range}")

    def options(self) -> dict[str, Any]:
        """The non-size options, JSON-ready (what ``describe()`` records)."""
        data = dataclasses.asdict(self)
        del data["image_size"], data["channels"]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


@dataclass(frozen=True)
class SceneLayout:
    """Every object's parameters for a batch of items; K = max_objects slots, drawn in slot order."""

    count: np.ndarray  # int64 (n,)
    present: np.ndarray  # bool (n, K): slot k < count
    shape: np.ndarray  # int64 (n, K): index into config.shapes
    centre: np.ndarray  # float64 (n, K, 2): (x, y) in pixels
    radius: np.ndarray  # float64 (n, K): half the object's width, in pixels
    colour: np.ndarray  # float64 (n, K, 3): RGB in [0, 1]
    background: np.ndarray  # float64 (n, 2, 3): gradient start and end colours
    angle: np.ndarray  # float64 (n,): gradient direction in radians


# --- signed distances (pixels; negative inside). ax = |dx|: every shape is left-right symmetric.


def _sd_circle(ax, dy, r):
    return np.sqrt(ax * ax + dy * dy) - r


def _sd_square(ax, dy, r):
    return np.maximum(ax, np.abs(dy)) - 0.85 * r  # area ~ 0.92 of the circle's


def _sd_triangle(ax, dy, r):
    # Upright: apex (0, -r), base corners (+-r, r). Base edge, then the slanted edge (normal (2, -1)/sqrt 5).
    return np.maximum(dy - r, (2.0 * ax - dy - r) * (1.0 / math.sqrt(5.0)))


def _sd_diamond(ax, dy, r):
    return (ax + np.abs(dy) - r) * (1.0 / math.sqrt(2.0))


_SDF = {"circle": _sd_circle, "square": _sd_square, "triangle": _sd_triangle, "diamond": _sd_diamond}


class ScenesDataset(Dataset):
    def __init__(self, config: ScenesConfig, seed: int = 0):
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**63:
            raise DatasetError(f"scenes: seed must be an integer in [0, 2**63), got {seed!r}")
        self.config = config
        self.seed = int(seed)
        self.name = "scenes"
        self.kind = "scenes"
        self.image_shape = (config.channels, config.image_size, config.image_size)
        self.num_classes = config.max_objects
        self._palette = np.array([_parse_colour(c) for c in config.palette], dtype=np.float64)
        k = config.max_objects
        # Field layout of each item's uniforms: count, 6 background, angle, per slot (shape, size,
        # 2 * candidates), then one per palette colour (argsort of those = a random permutation).
        self._slot_fields = 2 + 2 * _CANDIDATES
        self._colour_field = 8 + k * self._slot_fields
        self._num_fields = self._colour_field + len(self._palette)
        centres = np.arange(config.image_size, dtype=np.float32) + np.float32(0.5)
        self._xs = centres[None, :]  # (1, W) pixel centres
        self._ys = centres[:, None]  # (H, 1)

    def __len__(self) -> int:
        return NOMINAL_SIZE

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "version": SCENES_VERSION,
            "image_shape": list(self.image_shape),
            "num_classes": self.num_classes,
            "seed": self.seed,
            "options": self.config.options(),
            "attributes": [f"has_{s}" for s in self.config.shapes],
        }

    # --- layout --------------------------------------------------------------------------------

    def layout(self, indices: Sequence[int] | np.ndarray) -> SceneLayout:
        idx = as_indices(indices, NOMINAL_SIZE, "scenes")
        cfg, n, k = self.config, idx.size, self.config.max_objects
        side = float(cfg.image_size)
        u = uniforms(item_keys(self.seed, idx, _SALT), self._num_fields)  # (n, F)

        span = cfg.max_objects - cfg.min_objects + 1
        count = cfg.min_objects + np.minimum((u[:, 0] * span).astype(np.int64), span - 1)
        present = np.arange(k)[None, :] < count[:, None]
        blo, bhi = cfg.background_range
        background = (blo + (bhi - blo) * u[:, 1:7]).reshape(n, 2, 3)
        if cfg.background == "flat":
            background[:, 1] = background[:, 0]
        angle = u[:, 7] * (2.0 * math.pi)

        slots = u[:, 8 : self._colour_field].reshape(n, k, self._slot_fields)
        shape = np.minimum((slots[:, :, 0] * len(cfg.shapes)).astype(np.int64), len(cfg.shapes) - 1)
        lo, hi = cfg.object_scale
        radius = 0.5 * side * (lo + (hi - lo) * slots[:, :, 1])  # (n, K)
        # Candidate centres keep the object's box inside the frame: (n, K, candidates, 2).
        free = (side - 2.0 * radius)[:, :, None, None]
        candidates = radius[:, :, None, None] + free * slots[:, :, 2:].reshape(n, k, _CANDIDATES, 2)
        centre = self._place(candidates, radius, present)

        order = np.argsort(u[:, self._colour_field :], axis=1, kind="stable")[:, :k]  # distinct colours
        colour = self._palette[order]  # (n, K, 3)
        return SceneLayout(count, present, shape, centre, radius, colour, background, angle)

    def _place(self, candidates: np.ndarray, radius: np.ndarray, present: np.ndarray) -> np.ndarray:
        """Per slot, the first candidate centre far enough from the objects placed before it.
        If none is, the one with the most room, and the object shrinks (to at most half its
        size) until it keeps its distance. Sequential over K slots, vectorized over items;
        shrinks ``radius`` in place."""
        n, k = radius.shape
        sep = self.config.min_separation
        centre = candidates[:, :, 0, :].copy()  # (n, K, 2)
        rows = np.arange(n)
        for slot in range(1, k):
            cand = candidates[:, slot]  # (n, C, 2)
            gap = cand[:, :, None, :] - centre[:, None, :slot, :]  # (n, C, slot, 2)
            dist = np.sqrt((gap * gap).sum(-1))  # (n, C, slot)
            room = dist / (radius[:, None, slot, None] + radius[:, None, :slot])
            room = np.where(present[:, None, :slot], room, np.inf).min(axis=2)  # (n, C)
            ok = room >= sep
            fits = ok.any(axis=1)
            choice = np.where(fits, ok.argmax(axis=1), room.argmax(axis=1))
            centre[:, slot] = cand[rows, choice]
            if sep > 0 and not fits.all():
                # Largest radius that keeps dist >= sep * (r + r_j) to every earlier object.
                allowed = dist[rows, choice] / sep - radius[:, :slot]  # (n, slot)
                allowed = np.where(present[:, :slot], allowed, np.inf).min(axis=1)
                shrunk = np.clip(allowed, 0.5 * radius[:, slot], radius[:, slot])
                radius[:, slot] = np.where(fits, radius[:, slot], shrunk)
        return centre

    def attributes(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Multi-hot "shapes present": uint8 (n, len(config.shapes)), column j = config.shapes[j]."""
        lay = self.layout(indices)
        hot = np.zeros((lay.count.size, len(self.config.shapes)), dtype=np.uint8)
        rows = np.repeat(np.arange(lay.count.size), lay.shape.shape[1])
        hot[rows[lay.present.ravel()], lay.shape.ravel()[lay.present.ravel()]] = 1
        return hot

    def labels(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Object count - 1 for each item, int64 (n,), without rendering."""
        return self.layout(indices).count - 1

    # --- rendering -----------------------------------------------------------------------------

    def take(self, indices):
        lay = self.layout(indices)
        n, size = lay.count.size, self.config.image_size
        out = np.empty((n, self.config.channels, size, size), dtype=np.float32)
        for start in range(0, n, _CHUNK):
            part = slice(start, min(n, start + _CHUNK))
            rgb = self._render(lay, part)  # (m, 3, H, W) in [0, 1]
            if self.config.channels == 1:
                rgb = np.tensordot(np.array([0.299, 0.587, 0.114], np.float32), rgb, axes=(0, 1))[:, None]
            np.multiply(rgb, np.float32(2.0), out=out[part])
            out[part] -= np.float32(1.0)
        return out, lay.count - 1

    def coverage(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Each slot's own coverage before occlusion: float32 (n, K, H, W) in [0, 1] (0 for absent slots)."""
        lay = self.layout(indices)
        n, k, size = lay.count.size, self.config.max_objects, self.config.image_size
        out = np.empty((n, k, size, size), dtype=np.float32)
        for slot in range(k):
            self._slot_alpha(lay, slice(0, n), slot, out[:, slot])
        return out

    def _slot_alpha(self, lay: SceneLayout, part: slice, slot: int, alpha: np.ndarray) -> None:
        """Fill ``alpha`` (m, H, W) with slot ``slot``'s coverage for the items in ``part``."""
        cfg, xs, ys = self.config, self._xs, self._ys
        alpha.fill(0.0)
        for s, shape_name in enumerate(cfg.shapes):
            sel = np.flatnonzero(lay.present[part, slot] & (lay.shape[part, slot] == s))
            if sel.size == 0:
                continue
            cx = lay.centre[part][sel, slot, 0].astype(np.float32)[:, None, None]
            cy = lay.centre[part][sel, slot, 1].astype(np.float32)[:, None, None]
            r = lay.radius[part][sel, slot].astype(np.float32)[:, None, None]
            sd = _SDF[shape_name](np.abs(xs - cx), ys - cy, r)  # (len(sel), H, W)
            alpha[sel] = np.clip(0.5 - sd, 0.0, 1.0) if cfg.antialias else (sd <= 0)

    def _render(self, lay: SceneLayout, part: slice) -> np.ndarray:
        cfg, xs, ys = self.config, self._xs, self._ys
        half = np.float32(cfg.image_size / 2.0)
        cos = np.cos(lay.angle[part]).astype(np.float32)[:, None, None]
        sin = np.sin(lay.angle[part]).astype(np.float32)[:, None, None]
        # t runs 0 -> 1 from one corner of the image to the opposite one along the gradient.
        t = ((xs - half) * cos + (ys - half) * sin) / (np.float32(cfg.image_size) * (np.abs(cos) + np.abs(sin)))
        t += np.float32(0.5)  # (m, H, W)
        c0 = lay.background[part, 0].astype(np.float32)[:, :, None, None]  # (m, 3, 1, 1)
        c1 = lay.background[part, 1].astype(np.float32)[:, :, None, None]
        img = c0 + t[:, None] * (c1 - c0)  # (m, 3, H, W)

        alpha = np.empty((img.shape[0], cfg.image_size, cfg.image_size), dtype=np.float32)
        for slot in range(cfg.max_objects):
            self._slot_alpha(lay, part, slot, alpha)
            colour = lay.colour[part, slot].astype(np.float32)[:, :, None, None]  # (m, 3, 1, 1)
            img += alpha[:, None] * (colour - img)  # later objects paint over earlier ones
        return img
