"""Image conversions shared by every backend, and PNG grids.

The one definition of float -> uint8 used everywhere (numpy here, torch on the GPU in the torch
and TensorRT runners; docs/contract.md, "Float → uint8"): a model's output range [lo, hi] maps
to [0, 255] with round-half-up, ``uint8 = clip(floor(x * scale + offset), 0, 255)`` in float32 with
``scale = 255 / (hi - lo)`` and ``offset = 0.5 - lo * scale`` (both rounded once to float32). For
our own generators' [-1, 1] that is ``x * 127.5 + 128``; for [0, 1] ``x * 255 + 0.5``. Keep any
other implementation equal to :func:`to_uint8_reference`.
"""

from __future__ import annotations

import math
import os

import numpy as np

from ganedge.errors import BadInputError
from ganedge.fsutil import atomic_path

DEFAULT_RANGE = (-1.0, 1.0)


def uint8_affine(output_range=DEFAULT_RANGE) -> tuple[np.float32, np.float32]:
    """float32 (scale, offset) that map ``output_range`` onto [0, 255] with round-half-up."""
    lo, hi = (float(v) for v in output_range)
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise BadInputError(f"output range must be two finite numbers lo < hi, got {tuple(output_range)}")
    scale = 255.0 / (hi - lo)
    return np.float32(scale), np.float32(0.5 - lo * scale)


SCALE, OFFSET = uint8_affine(DEFAULT_RANGE)  # 127.5, 128.0


def to_uint8_reference(images: np.ndarray, output_range=DEFAULT_RANGE) -> np.ndarray:
    """Plain, allocation-happy version of :func:`to_uint8_nhwc`; the fast one must match it exactly."""
    scale, offset = uint8_affine(output_range)
    x = np.asarray(images, dtype=np.float32)
    y = np.clip(np.floor(x * scale + offset), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(y.transpose(0, 2, 3, 1))


def to_uint8_nhwc(images: np.ndarray, out: np.ndarray | None = None, *, inplace: bool = False,
                  output_range=DEFAULT_RANGE) -> np.ndarray:
    """float32 NCHW in ``output_range`` -> uint8 NHWC, with as few passes over memory as numpy allows.

    ``inplace=True`` lets the conversion scribble over ``images`` (a buffer the caller owns and
    will not read again), which saves one full-size temporary. ``out`` may be a preallocated
    (N, H, W, C) uint8 array.
    """
    if images.ndim != 4:
        raise BadInputError(f"expected images of shape (N, C, H, W), got {images.shape}")
    n, c, h, w = images.shape
    if out is None:
        out = np.empty((n, h, w, c), dtype=np.uint8)
    elif out.shape != (n, h, w, c) or out.dtype != np.uint8:
        raise BadInputError(f"out must be uint8 of shape {(n, h, w, c)}, got {out.dtype} {out.shape}")
    if n == 0:
        return out
    scale, offset = uint8_affine(output_range)
    if inplace and images.dtype == np.float32 and images.flags.writeable:
        x = images
        np.multiply(x, scale, out=x)
    else:
        x = np.multiply(images, scale, dtype=np.float32)
    x += offset
    np.clip(x, 0.0, 255.0, out=x)
    # Casting truncates toward zero, which is floor for the non-negative values left after clip.
    np.copyto(out, x.transpose(0, 2, 3, 1), casting="unsafe")
    return out


def to_float(images_uint8: np.ndarray) -> np.ndarray:
    """uint8 NHWC -> float32 NCHW in [-1, 1] (the inverse of the [-1, 1] mapping, up to rounding)."""
    x = np.asarray(images_uint8)
    if x.dtype != np.uint8 or x.ndim != 4:
        raise BadInputError(f"expected uint8 images of shape (N, H, W, C), got {x.dtype} {x.shape}")
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32) / np.float32(127.5) - np.float32(1.0)


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB between two uint8 (or equally scaled) image batches; inf if equal."""
    if a.shape != b.shape:
        raise BadInputError(f"psnr needs equal shapes, got {a.shape} and {b.shape}")
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)) if a.size else 0.0
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def make_grid(images: np.ndarray, cols: int | None = None, pad: int = 1, pad_value: int = 0) -> np.ndarray:
    """Tile uint8 (N, H, W, C) images into one (rows*H', cols*W', C) image; near-square by default."""
    if images.ndim != 4 or images.dtype != np.uint8:
        raise BadInputError(f"make_grid needs uint8 (N, H, W, C) images, got {images.dtype} {images.shape}")
    n, h, w, c = images.shape
    if n == 0:
        raise BadInputError("make_grid needs at least one image")
    cols = cols or int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), pad_value, dtype=np.uint8)
    for i in range(n):
        r, q = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + q * (w + pad)
        grid[y : y + h, x : x + w] = images[i]
    return grid


# Still-image files by extension. PNG and WebP are written losslessly; JPEG at quality 95 (4:4:4), which
# is lossy by nature: use it for viewing, PNG for pixels you will compare.
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
_SAVE_OPTIONS = {"PNG": {}, "JPEG": {"quality": 95, "subsampling": 0}, "WEBP": {"lossless": True}}


def image_format(path: str | os.PathLike) -> str:
    """The Pillow format a still image's extension names; any other extension is bad input."""
    suffix = os.path.splitext(str(path))[1].lower()
    if suffix not in IMAGE_FORMATS:
        raise BadInputError(f"cannot write {path}: unknown image extension {suffix or '(none)'!r}; "
                            f"use {', '.join(IMAGE_FORMATS)}")
    return IMAGE_FORMATS[suffix]


def upscale_nearest(images: np.ndarray, factor: int) -> np.ndarray:
    """Repeat each pixel ``factor`` times along H and W of (..., H, W, C) images (nearest-neighbour)."""
    if factor == 1:
        return images
    return images.repeat(factor, axis=-3).repeat(factor, axis=-2)


def save_image(path: str | os.PathLike, image: np.ndarray, upscale: int = 1) -> None:
    """Write one uint8 (H, W, C) or (H, W) image atomically in the format its extension names."""
    _write_image(path, image, upscale, image_format(path))


def save_png(path: str | os.PathLike, image: np.ndarray, upscale: int = 1) -> None:
    """Write one uint8 (H, W, C) or (H, W) image as PNG (whatever the name), atomically; ``upscale`` repeats pixels."""
    _write_image(path, image, upscale, "PNG")


def _write_image(path: str | os.PathLike, image: np.ndarray, upscale: int, fmt: str) -> None:
    from PIL import Image  # pillow is a base dependency; imported here to keep module import cheap

    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise BadInputError(f"saving an image needs uint8 (H, W[, C]), got {image.dtype} {image.shape}")
    if image.ndim == 2:
        image = image[:, :, None]
    image = upscale_nearest(image, upscale)
    if image.shape[2] == 1:
        image = image[:, :, 0]
    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format=fmt, **_SAVE_OPTIONS[fmt])


def save_grid(path: str | os.PathLike, images: np.ndarray, cols: int | None = None, upscale: int = 1) -> None:
    """A grid of uint8 (N, H, W, C) images in the format the extension names (.png, .jpg/.jpeg, .webp)."""
    save_image(path, make_grid(images, cols=cols), upscale=upscale)
