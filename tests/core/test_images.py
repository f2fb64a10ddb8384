import numpy as np
import pytest
from PIL import Image

from ganedge.errors import BadInputError
from ganedge.images import make_grid, psnr, save_grid, save_png, to_float, to_uint8_nhwc, to_uint8_reference


def test_fast_conversion_equals_reference():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.3, 1.3, size=(5, 3, 7, 9)).astype(np.float32)
    # Values exactly on rounding boundaries and the range ends.
    x[0, 0, 0, :5] = [-1.0, 1.0, 0.0, (0.5 - 128) / 127.5, (254.5 - 128) / 127.5]
    ref = to_uint8_reference(x)
    assert ref.shape == (5, 7, 9, 3)
    np.testing.assert_array_equal(to_uint8_nhwc(x), ref)
    np.testing.assert_array_equal(to_uint8_nhwc(x.copy(), inplace=True), ref)
    out = np.empty_like(ref)
    assert to_uint8_nhwc(x, out=out) is out


def test_mapping_endpoints():
    x = np.array([-1.0, 0.0, 1.0], np.float32).reshape(1, 3, 1, 1)
    assert to_uint8_nhwc(x).ravel().tolist() == [0, 128, 255]


def test_round_trip_within_half_level():
    u = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    np.testing.assert_array_equal(to_uint8_nhwc(to_float(u)), u)


def test_empty_batch_and_bad_shape():
    assert to_uint8_nhwc(np.zeros((0, 3, 4, 4), np.float32)).shape == (0, 4, 4, 3)
    with pytest.raises(BadInputError):
        to_uint8_nhwc(np.zeros((3, 4, 4), np.float32))


def test_psnr():
    a = np.zeros((2, 4, 4, 3), np.uint8)
    assert psnr(a, a) == float("inf")
    b = a.copy()
    b[0, 0, 0, 0] = 255
    assert psnr(a, b) == pytest.approx(10 * np.log10(96), rel=1e-9)  # 1 of 96 values off by 255


def test_grid_and_png(tmp_path):
    imgs = np.stack([np.full((4, 5, 3), i * 20, np.uint8) for i in range(5)])
    grid = make_grid(imgs, pad=1)
    assert grid.shape == (2 * 5 + 1, 3 * 6 + 1, 3)
    save_grid(tmp_path / "g.png", imgs, upscale=2)
    with Image.open(tmp_path / "g.png") as img:
        loaded = np.asarray(img)
    assert loaded.shape == (22, 38, 3)
    save_png(tmp_path / "gray.png", np.zeros((4, 4, 1), np.uint8))
    with Image.open(tmp_path / "gray.png") as img:
        assert img.mode == "L"
    assert [p.name for p in tmp_path.iterdir()] and not list(tmp_path.glob("*.tmp"))
