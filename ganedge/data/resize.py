"""Image resizing shared by the finite datasets (pillow; imported lazily)."""

from __future__ import annotations

import numpy as np


def centre_crop_resize(image, size: int, resample: str = "bicubic"):
    """A PIL image -> centre-cropped to a square, then resized to ``size`` x ``size``.

    Downscaling uses pillow's filters with their full support (i.e. antialiased), so a
    photo reduced to 32x32 does not alias.
    """
    from PIL import Image

    w, h = image.size
    side = min(w, h)
    if w != h:
        left, top = (w - side) // 2, (h - side) // 2
        image = image.crop((left, top, left + side, top + side))
    if side != size:
        filt = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}[resample]
        image = image.resize((size, size), filt)
    return image


def resize_float_batch(images: np.ndarray, size: int) -> np.ndarray:
    """float (N, H, W) -> float32 (N, size, size), bilinear (pillow 'F' mode, no rounding)."""
    from PIL import Image

    out = np.empty((images.shape[0], size, size), dtype=np.float32)
    for i, image in enumerate(images):
        pil = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32))  # 2-D float32 -> mode "F"
        out[i] = np.asarray(pil.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32)
    return out


def to_uint8(images01: np.ndarray) -> np.ndarray:
    """float in [0, 1] -> uint8, rounding to nearest."""
    return np.clip(np.rint(images01 * 255.0), 0, 255).astype(np.uint8)
