"""Folders of real PNG/JPEG files and .npz archives, written in tmp_path."""

import numpy as np
import pytest
from PIL import Image

from ganedge.data import load_dataset
from ganedge.errors import DatasetError
from ganedge.images import to_float, to_uint8_nhwc


def _write_pngs(folder, images, names=None):
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        Image.fromarray(image if image.shape[2] == 3 else image[:, :, 0]).save(folder / (names[i] if names else f"{i:03d}.png"))


@pytest.fixture
def rgb16():
    return np.random.default_rng(0).integers(0, 256, size=(6, 16, 16, 3), dtype=np.uint8)


def test_folder_round_trip_is_exact(tmp_path, rgb16):
    _write_pngs(tmp_path / "imgs", rgb16)
    ds = load_dataset(tmp_path / "imgs", image_size=16)
    assert len(ds) == 6 and ds.image_shape == (3, 16, 16) and ds.num_classes == 0
    images, labels = ds.take(np.arange(6))
    assert np.array_equal(to_uint8_nhwc(images), rgb16)  # PNG is lossless, no resize at the same size
    assert (labels == 0).all()
    assert ds.describe()["kind"] == "folder" and ds.name == str(tmp_path / "imgs")


def test_folder_class_subfolders_become_labels(tmp_path, rgb16):
    _write_pngs(tmp_path / "d" / "b_dogs", rgb16[:2])
    _write_pngs(tmp_path / "d" / "a_cats", rgb16[2:5])
    (tmp_path / "d" / ".hidden").mkdir()
    Image.fromarray(rgb16[5]).save(tmp_path / "d" / ".hidden" / "x.png")  # skipped
    ds = load_dataset(tmp_path / "d", image_size=16)
    assert len(ds) == 5 and ds.num_classes == 2 and ds.describe()["classes"] == ["a_cats", "b_dogs"]
    assert ds.class_names == ("a_cats", "b_dogs")
    _, labels = ds.take(np.arange(5))
    assert labels.tolist() == [0, 0, 0, 1, 1]
    unlabelled = load_dataset(tmp_path / "d", image_size=16, class_folders=False)
    assert unlabelled.num_classes == 0 and unlabelled.class_names is None
    assert len(load_dataset(tmp_path / "d" / "a_cats", image_size=16, recursive=False)) == 3


def test_folder_top_level_only(tmp_path, rgb16):
    _write_pngs(tmp_path / "f", rgb16[:2])
    _write_pngs(tmp_path / "f" / "sub", rgb16[2:4])
    assert len(load_dataset(tmp_path / "f", image_size=16)) == 4
    assert len(load_dataset(tmp_path / "f", image_size=16, recursive=False)) == 2
    with pytest.raises(DatasetError, match="not inside a class sub-folder"):
        load_dataset(tmp_path / "f", image_size=16, class_folders=True)


def test_folder_resizes_centre_crops_and_converts(tmp_path):
    # A wide image: left and right thirds red, middle blue -> the centre crop is all blue.
    wide = np.zeros((30, 90, 3), dtype=np.uint8)
    wide[:, :30, 0] = wide[:, 60:, 0] = 255
    wide[:, 30:60, 2] = 255
    (tmp_path / "w").mkdir()
    Image.fromarray(wide).save(tmp_path / "w" / "wide.jpg", quality=95)
    Image.fromarray(np.full((20, 20), 128, np.uint8)).save(tmp_path / "w" / "gray.png")
    ds = load_dataset(tmp_path / "w", image_size=8)
    assert ds.image_shape == (3, 8, 8)
    img = to_uint8_nhwc(ds.take([1])[0])[0]  # sorted: gray.png, wide.jpg
    assert img[..., 2].min() > 200 and img[..., 0].max() < 60
    gray_only = tmp_path / "g"
    gray_only.mkdir()
    Image.fromarray(np.full((20, 20), 128, np.uint8)).save(gray_only / "a.png")
    assert load_dataset(gray_only, image_size=8).image_shape == (1, 8, 8)
    assert load_dataset(gray_only, image_size=8, channels=3).image_shape == (3, 8, 8)


def test_npz_uint8_nhwc_round_trip(tmp_path, rgb16):
    np.savez(tmp_path / "d.npz", images=rgb16, labels=np.array([0, 1, 2, 0, 1, 2]))
    ds = load_dataset(tmp_path / "d.npz", image_size=16)
    images, labels = ds.take(np.arange(6))
    assert np.array_equal(to_uint8_nhwc(images), rgb16)
    assert labels.tolist() == [0, 1, 2, 0, 1, 2] and ds.num_classes == 3


def test_npz_float_nchw_round_trip(tmp_path, rgb16):
    floats = to_float(rgb16)  # what Dataset.take returns
    np.savez(tmp_path / "f.npz", x=floats)
    ds = load_dataset(tmp_path / "f.npz", image_size=16)
    np.testing.assert_allclose(ds.take(np.arange(6))[0], floats, atol=1e-6)
    assert ds.num_classes == 0


def test_npz_grayscale_and_resize(tmp_path):
    gray = np.random.default_rng(1).integers(0, 256, size=(3, 12, 12), dtype=np.uint8)
    np.savez(tmp_path / "g.npz", data=gray)
    ds = load_dataset(tmp_path / "g.npz", image_size=24, channels=3)
    assert ds.image_shape == (3, 24, 24)
    np.savez(tmp_path / "k.npz", pixels=gray, y=np.arange(3))
    ds = load_dataset(tmp_path / "k.npz", image_size=12, images_key="pixels")
    assert ds.image_shape == (1, 12, 12) and ds.num_classes == 3


# --- every error names the path ----------------------------------------------------------


def test_missing_path(tmp_path):
    with pytest.raises(DatasetError, match=f"{tmp_path / 'nope'} does not exist"):
        load_dataset(tmp_path / "nope")


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="empty"):
        load_dataset(tmp_path / "empty")


def test_folder_without_images(tmp_path):
    (tmp_path / "txt").mkdir()
    (tmp_path / "txt" / "readme.txt").write_text("no images here")
    with pytest.raises(DatasetError, match=f"{tmp_path / 'txt'} .*has no png/jpg/jpeg images"):
        load_dataset(tmp_path / "txt")


@pytest.mark.parametrize("content", [b"not a png at all", "truncated"])
def test_corrupt_image_names_the_file(tmp_path, rgb16, content):
    _write_pngs(tmp_path / "c", rgb16[:2])
    bad = tmp_path / "c" / "bad.png"
    if content == "truncated":
        good = (tmp_path / "c" / "000.png").read_bytes()
        bad.write_bytes(good[: len(good) // 2])
    else:
        bad.write_bytes(content)
    with pytest.raises(DatasetError, match="bad.png: cannot read image"):
        load_dataset(tmp_path / "c", image_size=16)
    ds = load_dataset(tmp_path / "c", image_size=16, skip_corrupt=True)
    assert len(ds) == 2 and ds.describe()["skipped"] == [str(bad)]


def test_npz_without_image_array(tmp_path):
    np.savez(tmp_path / "n.npz", weights=np.zeros(3))
    with pytest.raises(DatasetError, match=r"n.npz has no image array.*found weights"):
        load_dataset(tmp_path / "n.npz")
    with pytest.raises(DatasetError, match="no array 'pics'"):
        load_dataset(tmp_path / "n.npz", images_key="pics")


@pytest.mark.parametrize("array,needle", [
    (np.array([None, 1], dtype=object), "cannot read array"),  # pickled objects are refused
    (np.full((2, 3, 8, 8), 5.0, np.float32), r"must lie in \[-1, 1\]"),
    (np.full((2, 3, 8, 8), np.nan, np.float32), "NaN"),
    (np.zeros((2, 8, 8, 3), np.float32), "NCHW"),
    (np.zeros((2, 8), np.uint8), "uint8 images must be"),
    (np.zeros((0, 8, 8, 3), np.uint8), "holds no images"),
])
def test_npz_bad_arrays(tmp_path, array, needle):
    np.savez(tmp_path / "b.npz", images=array)
    with pytest.raises(DatasetError, match=needle):
        load_dataset(tmp_path / "b.npz", image_size=8)


def test_npz_bad_labels(tmp_path, rgb16):
    np.savez(tmp_path / "l.npz", images=rgb16, labels=np.arange(3))
    with pytest.raises(DatasetError, match="labels must be 6 non-negative integers"):
        load_dataset(tmp_path / "l.npz", image_size=16)


def test_not_an_npz(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"PK\x03\x04 broken zip")
    with pytest.raises(DatasetError, match="x.npz is not a readable .npz"):
        load_dataset(tmp_path / "x.npz")
    np.save(tmp_path / "single.npy", np.zeros((2, 8, 8, 3), np.uint8))
    (tmp_path / "single.npy").rename(tmp_path / "single.npz")
    with pytest.raises(DatasetError, match="single .npy array"):
        load_dataset(tmp_path / "single.npz")


def test_other_files_and_options(tmp_path, rgb16):
    _write_pngs(tmp_path / "o", rgb16[:1])
    with pytest.raises(DatasetError, match="neither a folder nor a .npz"):
        load_dataset(tmp_path / "o" / "000.png")
    with pytest.raises(DatasetError, match="unknown option 'shuffle'"):
        load_dataset(tmp_path / "o", shuffle=True)
    with pytest.raises(DatasetError, match=f"{tmp_path / 'o'}: image_size"):
        load_dataset(tmp_path / "o", image_size=0)


def test_sixteen_bit_grayscale_png(tmp_path):
    deep = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000)  # up to 63000: needs 16 bits
    (tmp_path / "d").mkdir()
    Image.fromarray(deep).save(tmp_path / "d" / "deep.png")
    ds = load_dataset(tmp_path / "d", image_size=8)
    assert ds.image_shape == (1, 8, 8)
    img = to_uint8_nhwc(ds.take([0])[0])[0, :, :, 0]
    assert img[0, 0] == 0 and img[-1, -1] >= 240 and (np.diff(img.ravel().astype(int)) >= 0).all()
