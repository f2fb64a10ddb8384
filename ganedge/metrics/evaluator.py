"""``Evaluator``: FD, KID and precision/recall of generated images against a dataset, offline.

    ev = Evaluator(dataset="scenes", image_size=32, n=2000, seed=0)
    scores = ev.score(images_uint8_nhwc)      # Scores(fd=..., fd_floor=..., ...)

Features come from the small feature net shipped for the dataset (``scenes-v1``, ``digits-v1``),
or from a local InceptionV3 (``inception="inception.safetensors"``: then FD is true FID).
The numbers depend on N and on the feature net, so both travel with every score. ``fd_floor``
is the same distance between two disjoint real sets of the same N: a model cannot be expected
to beat it. Real features are computed once per (dataset, N, seed, net), kept in memory and,
for the built-in datasets, on disk (``ganedge.metrics.cache``; ``cache_dir=False`` turns it off).
"""

from __future__ import annotations

import dataclasses
import json
import numbers
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ganedge.data import Dataset, load_dataset
from ganedge.errors import BadInputError
from ganedge.images import to_uint8_nhwc
from ganedge.metrics import cache
from ganedge.metrics.stats import frechet_distance, kid, precision_recall

DEFAULT_N = 2000
MIN_N = 8
PR_K = 3  # neighbours for precision/recall (Kynkaanniemi et al. use k=3)
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
_CACHE_ENTRIES = 8
_real_cache: "OrderedDict[tuple, dict[str, Any]]" = OrderedDict()


@dataclass(frozen=True)
class Scores:
    fd: float  # Frechet distance, generated vs real (lower is better)
    fd_floor: float  # the same between two disjoint real sets of N: the best reachable
    kid: float  # unbiased MMD^2, cubic polynomial kernel, mean over subsets
    kid_std: float
    precision: float  # share of generated images on the real manifold
    recall: float  # share of real images on the generated manifold
    n: int
    dataset: str
    feature_net: str
    seed: int
    kid_floor: float
    precision_floor: float
    recall_floor: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class _Extractor:
    """A feature function over uint8 NHWC images, named for reports and cache keys."""

    def __init__(self, net, name: str, fingerprint: str, in_channels: int, size: int, antialias: bool, device: str,
                 batch_size: int):
        self.net = net.to(device)
        self.name, self.fingerprint, self.in_channels, self.size = name, fingerprint, in_channels, size
        self.antialias, self.device, self.batch_size = antialias, device, batch_size

    def __call__(self, images_uint8: np.ndarray) -> np.ndarray:
        from ganedge.metrics.feature_net import extract

        return extract(self.net, images_uint8, self.in_channels, self.size, self.batch_size, self.device, self.antialias)


def _feature_net_for(dataset: Dataset) -> str:
    """The shipped net that can judge ``dataset``, or a clear error."""
    from ganedge.metrics.feature_net import SHIPPED

    info = dataset.describe()
    kind = info.get("kind")
    if kind not in SHIPPED:
        raise BadInputError(f"no built-in feature net fits dataset {dataset.name} ({kind}); built-in nets cover "
                            f"{', '.join(SHIPPED)}: pass inception=PATH (InceptionV3 weights in safetensors) for FID")
    return SHIPPED[kind]


def _check_fit(net_config, dataset: Dataset) -> None:
    fits = net_config.fits
    options = dataset.describe().get("options", {})
    extra = sorted(set(options.get("shapes", ())) - set(fits.get("shapes", options.get("shapes", ()))))
    if extra:
        raise BadInputError(f"feature net {net_config.name} was not trained on shapes {extra}; "
                            "use the shapes it knows or pass inception=PATH")
    if options.get("max_objects", 0) > fits.get("max_objects", 99):
        raise BadInputError(f"feature net {net_config.name} knows scenes of up to {fits['max_objects']} objects, "
                            f"not {options['max_objects']}")


def _make_extractor(dataset: Dataset, inception, feature_net, device: str, batch_size: int) -> _Extractor:
    if inception is not None:
        from ganedge.metrics.inception import INPUT_SIZE, load_inception
        from ganedge.artifacts.manifest import sha256_file

        net = load_inception(inception)
        digest = sha256_file(inception)
        name = f"inception-v3-fid:{Path(inception).name}:{digest[:12]}"
        return _Extractor(net, name, digest, 3, INPUT_SIZE, antialias=False, device=device, batch_size=min(batch_size, 50))
    from ganedge.metrics.feature_net import load_feature_net

    net = load_feature_net(feature_net or _feature_net_for(dataset))
    _check_fit(net.config, dataset)
    return _Extractor(net, net.config.name, net.sha256, net.config.in_channels, net.config.input_size, True, device,
                      batch_size)


def _canonical(dataset: Dataset) -> Dataset:
    """Procedural scenes are re-seeded to 0: a run trained with --seed 7 is then judged against
    the same real images as every other run (the seed picks items, not the distribution)."""
    from ganedge.data.scenes import ScenesDataset

    if isinstance(dataset, ScenesDataset) and dataset.seed != 0:
        return ScenesDataset(dataset.config, seed=0)
    return dataset


class Evaluator:
    """Scores generated images against ``n`` real ones (and reports the real-vs-real floor)."""

    def __init__(self, dataset: str | Dataset = "scenes", image_size: int = 32, n: int | None = None, seed: int = 0,
                 *, channels: int | None = None, dataset_options: dict[str, Any] | None = None,
                 inception: str | Path | None = None, feature_net: str | Path | None = None,
                 device: str = "cpu", batch_size: int = 500, cache_dir: str | Path | bool | None = None):
        if not isinstance(dataset, Dataset):
            dataset = load_dataset(dataset, image_size=image_size, channels=channels, **(dataset_options or {}))
        self.dataset = _canonical(dataset)
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise BadInputError(f"evaluation seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        self.n = self._resolve_n(n)
        self.extractor = _make_extractor(self.dataset, inception, feature_net, device, batch_size)
        self._cache_setting = cache_dir
        self._reference: dict[str, Any] | None = None

    @property
    def feature_net(self) -> str:
        return self.extractor.name

    def _resolve_n(self, n: int | None) -> int:
        most = len(self.dataset) // 2  # two disjoint real sets of n
        if n is None:
            n = min(DEFAULT_N, most)
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise BadInputError(f"n must be an integer, got {n!r}")
        if n > most:
            raise BadInputError(f"n={n} needs {2 * n} real images (two disjoint sets) but {self.dataset.name} has "
                                f"{len(self.dataset)}; use n <= {most}")
        if n < MIN_N:
            raise BadInputError(f"n must be at least {MIN_N}, got {n}")
        return int(n)

    # --- the real reference -------------------------------------------------------------------

    def _cache_key(self) -> tuple:
        return (json.dumps(self.dataset.describe(), sort_keys=True, default=str), self.n, self.seed, self.feature_net)

    def reference(self) -> dict[str, Any]:
        """Real features of sets A (the reference) and B (for the floor), computed once and cached."""
        if self._reference is not None:
            return self._reference
        key = self._cache_key()
        if key in _real_cache:
            _real_cache.move_to_end(key)
            self._reference = _real_cache[key]
            return self._reference
        on_disk = self._disk_entry()
        ref = cache.load(on_disk, self.n) if on_disk is not None and on_disk.is_file() else None
        if ref is None:
            ref = self._compute_reference()
            if on_disk is not None:
                cache.save(on_disk, ref)
        _real_cache[key] = ref
        while len(_real_cache) > _CACHE_ENTRIES:
            _real_cache.popitem(last=False)
        self._reference = ref
        return ref

    def _disk_entry(self):
        folder = cache.cache_dir(self._cache_setting)
        if folder is None or self.dataset.describe().get("kind") not in cache.CACHEABLE_KINDS:
            return None
        return cache.entry_path(folder, {"key": self._cache_key(), "weights": self.extractor.fingerprint,
                                         "format": 1})

    def _compute_reference(self) -> dict[str, Any]:
        rng = np.random.default_rng(self.seed)
        idx = rng.choice(len(self.dataset), 2 * self.n, replace=False)
        chunks, labels = [], []
        for start in range(0, idx.size, 1000):  # bounded memory for large image sizes
            images, lab = self.dataset.take(idx[start : start + 1000])
            chunks.append(self.extractor(to_uint8_nhwc(images, inplace=True)))
            labels.append(lab)
        feats, all_labels = np.concatenate(chunks), np.concatenate(labels)
        a, b = feats[: self.n], feats[self.n :]
        ref = {"features": a, "labels": all_labels[: self.n]}
        ref["floor"] = self._compare(ref, b)
        return ref

    @property
    def reference_labels(self) -> np.ndarray:
        """Labels of the real reference set: sample a conditional generator with these to match it."""
        return self.reference()["labels"]

    # --- scoring ------------------------------------------------------------------------------

    def _compare(self, ref: dict[str, Any], fake: np.ndarray) -> dict[str, float]:
        fd = frechet_distance(ref["features"], fake)
        kid_mean, kid_std = kid(ref["features"], fake, KID_SUBSETS, min(KID_SUBSET_SIZE, self.n // 2), seed=self.seed)
        precision, recall = precision_recall(ref["features"], fake, k=PR_K)
        return {"fd": fd, "kid": kid_mean, "kid_std": kid_std, "precision": precision, "recall": recall}

    def features(self, images_uint8: np.ndarray) -> np.ndarray:
        """Feature vectors (float64 (N, d)) of uint8 (N, H, W, C) images shaped like the dataset's."""
        images = np.asarray(images_uint8)
        c, h, w = self.dataset.image_shape
        if images.dtype != np.uint8 or images.ndim != 4:
            raise BadInputError(f"score() needs uint8 images of shape (N, H, W, C), got {images.dtype} {images.shape}")
        if images.shape[1:] != (h, w, c):
            raise BadInputError(f"images are {images.shape[1]}x{images.shape[2]}x{images.shape[3]} but the reference "
                                f"data ({self.dataset.name}) is {h}x{w}x{c}; build the Evaluator with matching image_size/channels")
        return self.extractor(images)

    def score(self, images_uint8: np.ndarray) -> Scores:
        """Score the first ``n`` of ``images_uint8`` (uint8 (N >= n, H, W, C), as ``sdk.sample`` returns)."""
        images = np.asarray(images_uint8)
        if images.ndim == 4 and images.shape[0] < self.n:
            raise BadInputError(f"score() needs at least n={self.n} images for comparable numbers, got {images.shape[0]}")
        return self.score_features(self.features(images[: self.n]))

    def score_features(self, fake_features: np.ndarray) -> Scores:
        ref = self.reference()
        result = self._compare(ref, np.asarray(fake_features, dtype=np.float64))
        floor = ref["floor"]
        return Scores(n=self.n, dataset=self.dataset.name, feature_net=self.feature_net, seed=self.seed,
                      fd_floor=floor["fd"], kid_floor=floor["kid"], precision_floor=floor["precision"],
                      recall_floor=floor["recall"], **result)
