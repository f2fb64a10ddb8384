import json

import numpy as np
import pytest

from ganedge.data import DATASETS, load_dataset
from ganedge.data.scenes import NOMINAL_SIZE
from ganedge.errors import DatasetError


@pytest.fixture(scope="module")
def scenes():
    return load_dataset("scenes", image_size=32, seed=0)


def test_builtin_names():
    assert set(DATASETS) == {"scenes", "digits"}


@pytest.mark.parametrize("size", [16, 32, 64])
def test_shapes_ranges_and_labels(size):
    ds = load_dataset("scenes", image_size=size)
    images, labels = ds.take(np.arange(40))
    assert images.shape == (40, 3, size, size) and images.dtype == np.float32
    assert labels.shape == (40,) and labels.dtype == np.int64
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert ds.image_shape == (3, size, size) and ds.num_classes == 4
    assert set(labels.tolist()) <= {0, 1, 2, 3}
    assert len(ds) == NOMINAL_SIZE


def test_item_is_a_function_of_seed_and_index(scenes):
    many, many_labels = scenes.take(np.arange(300))
    one, one_label = scenes.take([257])
    assert one.tobytes() == many[257].tobytes() and one_label[0] == many_labels[257]
    # chunk boundaries (256) and order do not matter
    shuffled, _ = scenes.take([299, 3, 257])
    assert shuffled[2].tobytes() == many[257].tobytes() and shuffled[0].tobytes() == many[299].tobytes()
    again = load_dataset("scenes", image_size=32, seed=0).take(np.arange(300))[0]
    assert again.tobytes() == many.tobytes()
    other = load_dataset("scenes", image_size=32, seed=1).take(np.arange(300))[0]
    assert not np.array_equal(other, many)
    assert np.abs(other - many).reshape(300, -1).max(axis=1).min() > 0.1  # every image differs


def test_batch_is_reproducible_from_rng(scenes):
    a = scenes.batch(16, np.random.default_rng(7))
    b = scenes.batch(16, np.random.default_rng(7))
    assert a[0].tobytes() == b[0].tobytes() and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], scenes.batch(16, np.random.default_rng(8))[0])


def test_counts_labels_and_attributes_agree(scenes):
    idx = np.arange(400)
    lay = scenes.layout(idx)
    _, labels = scenes.take(idx)
    assert np.array_equal(labels, lay.count - 1)
    assert np.array_equal(scenes.labels(idx), labels)
    counts = np.bincount(lay.count, minlength=5)[1:]
    assert counts.min() > 60  # all of 1..4 occur, roughly uniformly
    hot = scenes.attributes(idx)
    assert hot.shape == (400, 3) and hot.dtype == np.uint8
    assert (hot.sum(1) >= 1).all() and (hot.sum(1) <= lay.count).all()
    for i in range(20):
        expected = {int(s) for s in lay.shape[i, : lay.count[i]]}
        assert set(np.flatnonzero(hot[i]).tolist()) == expected


@pytest.mark.parametrize("lo,hi", [(1, 1), (2, 3), (4, 4)])
def test_requested_object_counts(lo, hi):
    ds = load_dataset("scenes", image_size=32, min_objects=lo, max_objects=hi)
    lay = ds.layout(np.arange(200))
    assert lay.count.min() == lo and lay.count.max() == hi
    assert ds.num_classes == hi


def test_every_object_is_visible_and_occlusion_is_real(scenes):
    idx = np.arange(300)
    lay = scenes.layout(idx)
    cover = scenes.coverage(idx)  # (n, K, H, W) each object's own coverage
    images, _ = scenes.take(idx)
    rgb = (images + 1) / 2  # (n, 3, H, W) in [0, 1]
    solid = cover == 1.0  # fully inside (no edge blending)
    overlaps = 0
    for i in range(len(idx)):
        for k in range(lay.count[i]):
            later = solid[i, k + 1 : lay.count[i]].any(0) if k + 1 < lay.count[i] else np.zeros_like(solid[i, k])
            visible = solid[i, k] & ~later & ~(cover[i, k + 1 :].sum(0) > 0)
            assert visible.sum() >= 0.3 * solid[i, k].sum(), (i, k)  # never (nearly) hidden
            # Pixels fully covered by object k and by nothing later show exactly k's colour.
            if visible.any():
                assert np.abs(rgb[i][:, visible] - lay.colour[i, k][:, None]).max() < 2e-4
            for j in range(k + 1, lay.count[i]):
                both = solid[i, k] & solid[i, j]
                top = both & ~(cover[i, j + 1 : lay.count[i]].sum(0) > 0)
                if top.any():
                    overlaps += 1
                    # occlusion: the later object wins where both cover a pixel
                    assert np.abs(rgb[i][:, top] - lay.colour[i, j][:, None]).max() < 2e-4
    assert overlaps > 25  # occlusion is common, not a corner case


def test_colours_within_an_image_are_distinct(scenes):
    lay = scenes.layout(np.arange(200))
    for i in range(200):
        cols = {tuple(c) for c in lay.colour[i, : lay.count[i]]}
        assert len(cols) == lay.count[i]


def test_edges_are_antialiased_or_hard():
    soft = load_dataset("scenes", image_size=32).coverage(np.arange(50))
    hard = load_dataset("scenes", image_size=32, antialias=False).coverage(np.arange(50))
    assert ((soft > 0) & (soft < 1)).any()
    assert set(np.unique(hard).tolist()) <= {0.0, 1.0}


def test_grayscale_is_luma_of_rgb():
    rgb, _ = load_dataset("scenes", image_size=16).take(np.arange(4))
    gray, _ = load_dataset("scenes", image_size=16, channels=1).take(np.arange(4))
    assert gray.shape == (4, 1, 16, 16)
    expected = np.tensordot(np.array([0.299, 0.587, 0.114], np.float32), rgb, axes=(0, 1))
    np.testing.assert_allclose(gray[:, 0], expected, atol=1e-5)


def test_describe_round_trips_through_json(scenes):
    info = json.loads(json.dumps(scenes.describe()))
    assert info["name"] == "scenes" and info["image_shape"] == [3, 32, 32] and info["num_classes"] == 4
    rebuilt = load_dataset("scenes", image_size=32, seed=info["seed"], **info["options"])
    assert rebuilt.config == scenes.config
    assert rebuilt.take([11])[0].tobytes() == scenes.take([11])[0].tobytes()


def test_options_change_the_images():
    base = load_dataset("scenes", image_size=32).take(np.arange(8))[0]
    flat = load_dataset("scenes", image_size=32, background="flat", palette=["#ff0000", "#00ff00", "#0000ff", "#ffffff"])
    assert not np.array_equal(flat.take(np.arange(8))[0], base)
    with_diamonds = load_dataset("scenes", image_size=32, shapes=["circle", "diamond"])
    assert with_diamonds.attributes(np.arange(50)).shape == (50, 2)
    big = load_dataset("scenes", image_size=32, object_scale=(0.6, 0.6), max_objects=1)
    assert np.allclose(big.layout(np.arange(5)).radius[:, 0], 0.3 * 32)


@pytest.mark.parametrize("options,needle", [
    ({"max_objects": 0}, "max_objects"),
    ({"min_objects": 3, "max_objects": 2}, "min_objects"),
    ({"shapes": ["hexagon"]}, "shapes"),
    ({"palette": ["#ff0000"]}, "palette"),
    ({"palette": ["red"]}, "colour"),
    ({"object_scale": (0.5, 0.2)}, "object_scale"),
    ({"background": "noise"}, "background"),
    ({"colour": "red"}, "unknown option"),
])
def test_bad_options_raise_dataset_error(options, needle):
    with pytest.raises(DatasetError, match=needle):
        load_dataset("scenes", **options)


@pytest.mark.parametrize("kwargs,needle", [
    ({"image_size": 4}, "image_size"), ({"image_size": 4096}, "image_size"), ({"image_size": "32"}, "image_size"),
    ({"channels": 2}, "channels"), ({"seed": -1}, "seed"),
])
def test_bad_arguments(kwargs, needle):
    with pytest.raises(DatasetError, match=needle):
        load_dataset("scenes", **kwargs)


def test_bad_indices(scenes):
    with pytest.raises(DatasetError, match="index"):
        scenes.take([-1])
    with pytest.raises(DatasetError, match="integers"):
        scenes.take([0.5])
    images, labels = scenes.take([])
    assert images.shape == (0, 3, 32, 32) and labels.shape == (0,)
