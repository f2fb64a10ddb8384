"""The Evaluator with the shipped feature nets: sanity of FD, KID and precision/recall.

N is kept small (300 scenes, 200 digits) for test time; the properties hold at any N.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from ganedge.data import load_dataset
from ganedge.errors import ArtifactError, BadInputError
from ganedge.images import to_uint8_nhwc
from ganedge.metrics import Evaluator, Scores

N = 300


@pytest.fixture(scope="module")
def scenes_ev():
    return Evaluator("scenes", image_size=32, n=N, seed=0)


@pytest.fixture(scope="module")
def fresh_scenes():
    """Real scenes the evaluator has not drawn (a far index range)."""
    ds = load_dataset("scenes", image_size=32)
    return to_uint8_nhwc(ds.take(np.arange(900_000_000, 900_000_000 + N))[0])


@pytest.fixture(scope="module")
def real_scores(scenes_ev, fresh_scenes):
    return scenes_ev.score(fresh_scenes)


def test_scores_carry_n_net_and_dataset(real_scores):
    assert isinstance(real_scores, Scores)
    d = real_scores.to_dict()
    for key in ("fd", "fd_floor", "kid", "kid_std", "precision", "recall", "n", "dataset", "feature_net"):
        assert key in d
    assert d["n"] == N and d["dataset"] == "scenes" and d["feature_net"] == "scenes-v1"
    json.dumps(d)  # plain JSON types


def test_real_vs_real_sits_at_the_floor(real_scores):
    assert 0 < real_scores.fd_floor < 3.0  # FD is biased upward at small N (here 300 for 96-d features)
    assert real_scores.fd < 3 * real_scores.fd_floor
    assert abs(real_scores.kid) < 0.02
    assert real_scores.precision > 0.8 and real_scores.recall > 0.8
    assert real_scores.precision_floor > 0.8 and real_scores.recall_floor > 0.8


def test_noise_and_collapse_score_far_worse(scenes_ev, fresh_scenes, real_scores):
    noise = np.random.default_rng(0).integers(0, 256, size=fresh_scenes.shape, dtype=np.uint8)
    noisy = scenes_ev.score(noise)
    collapsed = scenes_ev.score(np.repeat(fresh_scenes[:1], N, axis=0))  # one real image, N times
    assert noisy.fd > 50 * real_scores.fd and noisy.fd > 50 * real_scores.fd_floor
    assert collapsed.fd > 50 * real_scores.fd
    assert noisy.kid > 0.5 and collapsed.kid > 0.5
    assert noisy.precision < 0.05 and noisy.recall < 0.05
    assert collapsed.recall < 0.05  # one mode cannot cover the data


def test_numbers_are_stable_for_fixed_n_and_seed(scenes_ev, fresh_scenes, real_scores):
    from ganedge.metrics import evaluator as module

    module._real_cache.clear()  # recompute the real features from scratch
    again = Evaluator("scenes", image_size=32, n=N, seed=0, cache_dir=False).score(fresh_scenes)
    assert again == real_scores
    module._real_cache.clear()  # now from the disk cache the first Evaluator wrote
    assert Evaluator("scenes", image_size=32, n=N, seed=0).score(fresh_scenes) == real_scores
    trained_with_seed_7 = load_dataset("scenes", image_size=32, seed=7)
    assert Evaluator(trained_with_seed_7, n=N).score(fresh_scenes) == real_scores  # same reference
    other = Evaluator("scenes", image_size=32, n=N, seed=1).score(fresh_scenes)
    assert other.fd != real_scores.fd and other.fd < 3 * real_scores.fd_floor + 0.5


def test_reference_labels_match_the_reference_set(scenes_ev):
    labels = scenes_ev.reference_labels
    assert labels.shape == (N,) and set(labels.tolist()) <= {0, 1, 2, 3}


def test_grayscale_scenes_and_other_sizes_are_judged():
    for size, channels in ((16, 1), (64, 3)):
        ev = Evaluator("scenes", image_size=size, channels=channels, n=64)
        real = to_uint8_nhwc(ev.dataset.take(np.arange(10**8, 10**8 + 64))[0])
        noise = np.random.default_rng(1).integers(0, 256, size=real.shape, dtype=np.uint8)
        assert ev.score(noise).fd > 10 * ev.score(real).fd


def test_digits():
    ev = Evaluator("digits", image_size=16, n=200)
    assert ev.feature_net == "digits-v1"
    # a random draw: the file is ordered by writer, so a contiguous block is a biased sample
    real = to_uint8_nhwc(ev.dataset.take(np.random.default_rng(5).permutation(1797)[:200])[0])
    noise = np.random.default_rng(0).integers(0, 256, size=real.shape, dtype=np.uint8)
    good, bad = ev.score(real), ev.score(noise)
    assert good.fd < 3 * good.fd_floor and bad.fd > 10 * good.fd  # small N: both FDs carry a bias of a few units
    assert Evaluator("digits", image_size=16).n == 1797 // 2  # default N fits two disjoint sets


def test_bad_images(scenes_ev, fresh_scenes):
    with pytest.raises(BadInputError, match="at least n=300"):
        scenes_ev.score(fresh_scenes[:10])
    with pytest.raises(BadInputError, match="uint8"):
        scenes_ev.score(fresh_scenes.astype(np.float32))
    with pytest.raises(BadInputError, match="32x32x3.*image_size"):
        scenes_ev.score(np.zeros((N, 64, 64, 3), np.uint8))


def test_no_feature_net_fits(tmp_path):
    np.savez(tmp_path / "mine.npz", images=np.zeros((40, 16, 16, 3), np.uint8))
    with pytest.raises(BadInputError, match=r"no built-in feature net fits dataset .*mine.npz.*inception=PATH"):
        Evaluator(str(tmp_path / "mine.npz"), image_size=16, n=10)
    with pytest.raises(BadInputError, match="up to 4 objects"):
        Evaluator("scenes", n=10, dataset_options={"max_objects": 6, "palette": ["#ff0000"] * 6})
    with pytest.raises(BadInputError, match="n=1000 needs 2000 real images"):
        Evaluator("digits", image_size=16, n=1000)
    with pytest.raises(BadInputError, match="at least 8"):
        Evaluator("scenes", n=3)


def test_disk_cache_is_used_and_survives_damage(tmp_path, fresh_scenes):
    from ganedge.metrics import evaluator as module

    ev = Evaluator("scenes", image_size=32, n=40, cache_dir=tmp_path)
    first = ev.score(fresh_scenes[:40])
    entries = list((tmp_path / "metrics").glob("real-*.npz"))
    assert len(entries) == 1
    module._real_cache.clear()
    entries[0].write_bytes(b"garbage")  # a damaged entry is recomputed, not trusted
    assert Evaluator("scenes", image_size=32, n=40, cache_dir=tmp_path).score(fresh_scenes[:40]) == first
    import os
    from pathlib import Path

    default = Path(os.environ["GANEDGE_CACHE_DIR"]) / "metrics"
    before = sorted(default.glob("*")) if default.exists() else []
    Evaluator("scenes", image_size=32, n=41, cache_dir=False).reference()
    assert (sorted(default.glob("*")) if default.exists() else []) == before


def test_damaged_weights_are_refused(tmp_path):
    import shutil

    from ganedge.metrics.feature_net import WEIGHTS_DIR, load_feature_net

    for suffix in (".safetensors", ".json"):
        shutil.copy(WEIGHTS_DIR / f"scenes-v1{suffix}", tmp_path / f"scenes-v1{suffix}")
    copy = tmp_path / "scenes-v1.safetensors"
    assert load_feature_net(copy).config.name == "scenes-v1"
    data = bytearray(copy.read_bytes())
    data[-10] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="does not match the sha256"):
        load_feature_net(copy)
    with pytest.raises(ArtifactError, match="missing"):
        load_feature_net("scenes-v0")


def test_shipped_nets_describe_their_training():
    from ganedge.metrics.feature_net import SHIPPED, WEIGHTS_DIR

    for dataset, name in SHIPPED.items():
        meta = json.loads((WEIGHTS_DIR / f"{name}.json").read_text())
        assert meta["name"] == name and meta["dataset"] == dataset and meta["version"] >= 1
        assert 64 <= meta["feature_dim"] <= 256
        assert meta["training"]["steps"] > 0 and meta["training"]["accuracy"]["clean"]
        assert (WEIGHTS_DIR / f"{name}.safetensors").stat().st_size < 2_000_000


def test_importing_metrics_stays_light():
    code = "import sys, ganedge.metrics, ganedge.data; print([m for m in ('torch', 'sklearn', 'safetensors') if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
