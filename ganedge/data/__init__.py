"""Built-in and user datasets behind one small interface (see ``ganedge.data.base.Dataset``).

    from ganedge.data import load_dataset
    ds = load_dataset("scenes", image_size=32, seed=0)
    images, labels = ds.batch(64, np.random.default_rng(0))   # float32 (64, 3, 32, 32) in [-1, 1]

``spec`` is ``"scenes"`` (procedural shapes, the default), ``"digits"`` (scikit-learn's 8x8
handwritten digits), a folder of png/jpg images, or a ``.npz`` file. numpy-only at import.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ganedge.data.base import ArrayDataset, Dataset, check_channels, check_image_size
from ganedge.errors import DatasetError

# Built-in dataset names -> one-line description (for --help and error messages).
DATASETS: dict[str, str] = {
    "scenes": "procedural RGB scenes: 1-4 flat-coloured shapes with occlusion on a gradient (labels: count-1)",
    "digits": "scikit-learn's 1797 8x8 handwritten digits, resized (labels: digit)",
}

__all__ = ["DATASETS", "Dataset", "ArrayDataset", "load_dataset"]


def load_dataset(spec: str | os.PathLike, image_size: int = 32, channels: int | None = None,
                 seed: int = 0, **options: Any) -> Dataset:
    """Open a dataset by name or path. ``channels=None`` keeps the data's own (scenes 3, digits 1,
    folders 3 unless every image is grayscale). ``options`` are dataset-specific:
    scenes: see ``ScenesConfig``; folders: ``recursive``, ``skip_corrupt``, ``class_folders``;
    npz: ``images_key``, ``labels_key``. Any mistake raises DatasetError naming the input."""
    if isinstance(spec, str) and spec in DATASETS:
        check_image_size(image_size, spec)
        check_channels(channels, spec)
        if spec == "scenes":
            from ganedge.data.scenes import ScenesConfig, ScenesDataset

            return ScenesDataset(ScenesConfig.from_options(image_size, channels, options), seed=seed)
        from ganedge.data.digits import load_digits

        return load_digits(image_size, channels, **options)

    if not isinstance(spec, (str, os.PathLike)) or not str(spec):
        raise DatasetError(f"dataset must be one of {', '.join(DATASETS)} or a path, got {spec!r}")
    path = Path(spec)
    check_image_size(image_size, str(path))
    check_channels(channels, str(path))
    if not path.exists():
        raise DatasetError(f"dataset {path} does not exist; use {' or '.join(DATASETS)}, a folder of png/jpg images or a .npz file")
    from ganedge.data import files

    if path.is_dir():
        _check_options(path, options, files.FOLDER_OPTIONS)
        return files.load_folder(path, image_size, channels, **options)
    if path.suffix.lower() == ".npz":
        _check_options(path, options, files.NPZ_OPTIONS)
        return files.load_npz(path, image_size, channels, **options)
    raise DatasetError(f"dataset {path} is neither a folder nor a .npz file; point to a folder of png/jpg images or an .npz")


def _check_options(path: Path, options: dict[str, Any], known: tuple[str, ...]) -> None:
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise DatasetError(f"dataset {path}: unknown option {unknown[0]!r}; this kind takes {', '.join(known)}")
