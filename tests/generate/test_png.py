"""Our PNG encoder against the reference decoder (Pillow): every pixel back, any shape."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ganedge.generate.png import encode_png, encode_pngs


@pytest.mark.parametrize("shape", [(16, 16, 3), (7, 5, 1), (1, 1, 3), (9, 31, 4), (4, 6, 2), (64, 64, 3)])
def test_pillow_decodes_every_pixel(shape):
    rng = np.random.default_rng(sum(shape))
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    image[0, :] = 255  # saturated rows and wrap-around differences
    with Image.open(io.BytesIO(encode_png(image))) as decoded:
        assert decoded.format == "PNG" and decoded.size == (shape[1], shape[0])
        assert decoded.mode == {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[shape[2]]
        pixels = np.asarray(decoded)
    assert np.array_equal(pixels.reshape(shape), image)


def test_smooth_images_compress():
    ramp = np.broadcast_to(np.arange(64, dtype=np.uint8)[None, :, None], (64, 64, 3)).copy()
    assert len(encode_png(ramp)) < ramp.nbytes // 10


def test_refuses_what_png_cannot_hold():
    with pytest.raises(ValueError):
        encode_png(np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(ValueError):
        encode_png(np.zeros((4, 4, 3), np.float32))


def test_a_batch_encodes_as_its_images_one_by_one():
    images = np.random.default_rng(3).integers(0, 256, (5, 9, 7, 3), dtype=np.uint8)
    assert encode_pngs(images) == [encode_png(image) for image in images]
    with Image.open(io.BytesIO(encode_pngs(images)[4])) as decoded:
        assert np.array_equal(np.asarray(decoded), images[4])
    with pytest.raises(ValueError):
        encode_pngs(images[0])  # one image is (H, W, C), not a batch
