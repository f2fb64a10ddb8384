"""PNG encoding for shards: numpy row filtering plus zlib, without Pillow's per-image overhead.

Profiled on a 16x16 generator, Pillow's ``Image.save(format="PNG")`` spent most of its ~200 us
per image in Python plugin machinery rather than in zlib. Here every row gets PNG filter type
1 (Sub: each byte minus the byte one pixel to its left, mod 256 -- uint8 subtraction does
exactly that, for a whole batch at once), the rows are deflated at zlib level 6 and wrapped in IHDR/IDAT/IEND chunks:
2-3x faster, files 4-8% larger than Pillow's adaptive filtering on GAN images. Decoders see an
ordinary 8-bit PNG; ``tests/generate/test_png.py`` decodes them with Pillow.
"""

from __future__ import annotations

import functools
import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> gray, gray+alpha, RGB, RGBA
LEVEL = 6  # zlib's default: level 1 measured about as fast here on small images, 10% larger


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(tag)))


@functools.lru_cache(maxsize=16)
def _ihdr(width: int, height: int, channels: int) -> bytes:
    """Signature and IHDR chunk: the same for every image of one shape."""
    return SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, COLOR_TYPE[channels], 0, 0, 0))


_IEND = _chunk(b"IEND", b"")


def encode_pngs(images: np.ndarray, level: int = LEVEL) -> list[bytes]:
    """uint8 (N, H, W, C), C in 1..4 -> one PNG (8 bits per channel) per image. The rows of the
    whole batch are filtered in one pass, so per image only zlib and the chunk framing remain."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] not in COLOR_TYPE:
        raise ValueError(f"encode_pngs needs uint8 (N, H, W, 1-4) images, got {images.dtype} {images.shape}")
    n, h, w, c = images.shape
    flat = images.reshape(n, h, w * c)
    rows = np.empty((n, h, 1 + w * c), dtype=np.uint8)
    rows[:, :, 0] = 1  # filter type Sub
    rows[:, :, 1:1 + c] = flat[:, :, :c]
    np.subtract(flat[:, :, c:], flat[:, :, :-c], out=rows[:, :, 1 + c:])  # wraps mod 256, as the filter is defined
    head = _ihdr(w, h, c)
    return [head + _chunk(b"IDAT", zlib.compress(filtered.tobytes(), level)) + _IEND for filtered in rows]


def encode_png(image: np.ndarray, level: int = LEVEL) -> bytes:
    """uint8 (H, W, C), C in 1..4 -> PNG bytes (8 bits per channel)."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in COLOR_TYPE:
        raise ValueError(f"encode_png needs uint8 (H, W, 1-4) images, got {image.dtype} {image.shape}")
    return encode_pngs(image[None], level)[0]
