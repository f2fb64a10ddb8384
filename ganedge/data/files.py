"""User data: a folder of png/jpg images, or a ``.npz`` file of images (and optional labels).

Both are decoded once, resized (centre crop + antialiased bicubic) to ``image_size`` and kept
in memory as uint8; batches convert to float on the way out.

Folders: searched recursively (``recursive=False`` for the top level only), hidden files and
folders skipped, files sorted by relative path so item ``i`` is stable. If every image sits in
a first-level sub-folder and there are at least two, the sub-folder names are the classes
(torchvision's ImageFolder convention); ``class_folders=False`` turns that off, ``True`` insists.

npz: ``np.load(allow_pickle=False)``. Images under ``images_key`` or the first of
``IMAGE_KEYS``: uint8 NHWC (C = 1, 3 or 4; alpha is dropped), uint8 NHW (grayscale), or float
NCHW in [-1, 1] (what ``Dataset.take`` returns). Labels (optional) under ``labels_key`` or the
first of ``LABEL_KEYS``: non-negative integers, one per image.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ganedge.data.base import ArrayDataset
from ganedge.data.resize import centre_crop_resize
from ganedge.errors import DatasetError
from ganedge.images import to_uint8_nhwc

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
IMAGE_KEYS = ("images", "x", "x_train", "data", "arr_0")
LABEL_KEYS = ("labels", "y", "y_train", "targets", "arr_1")
FOLDER_OPTIONS = ("recursive", "skip_corrupt", "class_folders")
NPZ_OPTIONS = ("images_key", "labels_key")
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


# --- folders --------------------------------------------------------------------------------


def _image_files(folder: Path, recursive: bool) -> list[Path]:
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    files = []
    for path in candidates:
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            files.append(path)
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def _class_labels(folder: Path, files: list[Path], class_folders: bool | None) -> tuple[np.ndarray | None, list[str]]:
    parents = [p.relative_to(folder).parts for p in files]
    nested = all(len(parts) >= 2 for parts in parents)
    names = sorted({parts[0] for parts in parents if len(parts) >= 2})
    if class_folders is None:
        class_folders = nested and len(names) >= 2
    if not class_folders:
        return None, []
    if not nested:
        loose = next(folder / Path(*parts) for parts in parents if len(parts) < 2)
        raise DatasetError(f"{folder}: class_folders=True but {loose} is not inside a class sub-folder")
    index = {name: i for i, name in enumerate(names)}
    return np.array([index[parts[0]] for parts in parents], dtype=np.int64), names


def _read_image(path: Path, header_only: bool = False):
    """A decoded PIL image (or, with ``header_only``, just its mode); corrupt files -> DatasetError."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if header_only:
                return image.mode
            image.load()  # decode now: a truncated file fails here, not later
            return image.copy()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DatasetError(f"{path}: cannot read image ({type(exc).__name__}: {exc}); fix or remove the file, "
                           "or pass skip_corrupt=True") from None


def _to_pixels(image, mode: str, image_size: int):
    """One PIL image -> uint8 (S, S, C): 16-bit/float grayscale scaled into 8 bits, cropped, resized."""
    from PIL import Image

    if image.mode in ("I", "I;16", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if array.max() > 255 else 255.0
        image = Image.fromarray(np.clip(array / top * 255.0, 0, 255).astype(np.uint8))
    converted = centre_crop_resize(image.convert(mode), image_size)
    return np.asarray(converted, dtype=np.uint8).reshape(image_size, image_size, -1)


def load_folder(folder: Path, image_size: int, channels: int | None, recursive: bool = True,
                skip_corrupt: bool = False, class_folders: bool | None = None) -> ArrayDataset:
    if not any(folder.iterdir()):
        raise DatasetError(f"dataset folder {folder} is empty; put png/jpg images in it")
    files = _image_files(folder, recursive)
    if not files:
        where = "or its sub-folders " if recursive else ""
        raise DatasetError(f"dataset folder {folder} {where}has no {'/'.join(s[1:] for s in IMAGE_SUFFIXES)} images")
    if channels is None:  # headers only: a large folder is decoded once, below, one image at a time
        modes = []
        for path in files:
            try:
                modes.append(_read_image(path, header_only=True))
            except DatasetError:
                if not skip_corrupt:
                    raise
        channels = 1 if modes and all(m in _GRAY_MODES for m in modes) else 3
    mode = "L" if channels == 1 else "RGB"
    pixels = np.empty((len(files), image_size, image_size, channels), dtype=np.uint8)
    kept, skipped = [], []
    for path in files:
        try:
            pixels[len(kept)] = _to_pixels(_read_image(path), mode, image_size)
            kept.append(path)
        except DatasetError:
            if not skip_corrupt:
                raise
            skipped.append(path)
    if not kept:
        raise DatasetError(f"dataset folder {folder}: none of its {len(files)} images could be read")
    labels, class_names = _class_labels(folder, kept, class_folders)
    details: dict[str, Any] = {"recursive": recursive, "resize": "centre crop + bicubic"}
    if class_names:
        details["classes"] = class_names
    if skipped:
        details["skipped"] = [str(p) for p in skipped]
    return ArrayDataset(str(folder), "folder", pixels[: len(kept)], labels, num_classes=len(class_names),
                        details=details)


# --- npz ------------------------------------------------------------------------------------


def _pick(archive, requested: str | None, defaults: tuple[str, ...], path: Path, what: str) -> str | None:
    if requested is not None:
        if requested not in archive.files:
            raise DatasetError(f"{path} has no array {requested!r} for the {what}; it holds {', '.join(archive.files) or 'nothing'}")
        return requested
    return next((key for key in defaults if key in archive.files), None)


def _npz_images_uint8(array: np.ndarray, path: Path, key: str) -> np.ndarray:
    """Any accepted layout -> uint8 NHWC."""
    where = f"{path}[{key!r}]"
    if array.dtype == np.uint8:
        if array.ndim == 3:
            return array[..., None]
        if array.ndim == 4 and array.shape[3] in (1, 3, 4):
            return array
        if array.ndim == 4 and array.shape[1] in (1, 3, 4):
            return np.ascontiguousarray(array.transpose(0, 2, 3, 1))
        raise DatasetError(f"{where}: uint8 images must be (N, H, W, C) with C in 1, 3, 4 or (N, H, W), got {array.shape}")
    if array.dtype.kind == "f":
        if array.ndim != 4 or array.shape[1] not in (1, 3):
            raise DatasetError(f"{where}: float images must be NCHW (N, 1|3, H, W) in [-1, 1], got shape {array.shape}; "
                               "store uint8 NHWC or transpose")
        if not np.isfinite(array).all():
            raise DatasetError(f"{where}: images contain NaN or Inf")
        lo, hi = float(array.min()), float(array.max())
        if lo < -1.001 or hi > 1.001:
            raise DatasetError(f"{where}: float images must lie in [-1, 1], found [{lo:.3g}, {hi:.3g}]; rescale or store uint8")
        return to_uint8_nhwc(array.astype(np.float32))
    raise DatasetError(f"{where}: images must be uint8 or float, got {array.dtype}")


def _read_npz(handle, path: Path, images_key: str | None, labels_key: str | None):
    try:
        archive = np.load(handle, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DatasetError(f"{path} is not a readable .npz file ({type(exc).__name__}: {exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DatasetError(f"{path} is a single .npy array, not an .npz archive; save it with np.savez(path, images=...)")
    with archive:
        key = _pick(archive, images_key, IMAGE_KEYS, path, "images")
        if key is None:
            raise DatasetError(f"{path} has no image array: expected one of {', '.join(IMAGE_KEYS)} "
                               f"(or images_key=...), found {', '.join(archive.files) or 'nothing'}")
        lkey = _pick(archive, labels_key, LABEL_KEYS, path, "labels")
        try:
            raw = archive[key]
            raw_labels = archive[lkey] if lkey is not None and lkey != key else None
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            # Object arrays (pickles) land here too: allow_pickle=False refuses them.
            raise DatasetError(f"{path}: cannot read array {key!r} ({exc})") from None
    return key, lkey, raw, raw_labels


def load_npz(path: Path, image_size: int, channels: int | None, images_key: str | None = None,
             labels_key: str | None = None) -> ArrayDataset:
    # We own the file handle: np.load leaks its own on a broken zip.
    with open(path, "rb") as handle:
        key, lkey, raw, raw_labels = _read_npz(handle, path, images_key, labels_key)
    pixels = _npz_images_uint8(raw, path, key)
    if pixels.shape[0] == 0:
        raise DatasetError(f"{path}[{key!r}] holds no images")
    n, h, w, c = pixels.shape
    if c == 4:
        pixels = pixels[..., :3]
    channels = channels or (1 if pixels.shape[3] == 1 else 3)
    if pixels.shape[3] != channels:
        if channels == 3:
            pixels = np.repeat(pixels, 3, axis=3)
        else:  # ITU-R 601 luma, as pillow's convert("L")
            luma = pixels.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
            pixels = np.clip(np.rint(luma), 0, 255).astype(np.uint8)[..., None]
    if (h, w) != (image_size, image_size):
        from PIL import Image

        resized = np.empty((n, image_size, image_size, channels), dtype=np.uint8)
        for i in range(n):
            image = Image.fromarray(pixels[i, :, :, 0] if channels == 1 else pixels[i])
            resized[i] = np.asarray(centre_crop_resize(image, image_size)).reshape(image_size, image_size, channels)
        pixels = resized
    labels, num_classes = None, 0
    if raw_labels is not None:
        labels_array = np.asarray(raw_labels)
        if labels_array.dtype.kind not in "iu" or labels_array.shape != (n,) or (n and labels_array.min() < 0):
            raise DatasetError(f"{path}[{lkey!r}]: labels must be {n} non-negative integers, got {labels_array.dtype} {labels_array.shape}")
        labels, num_classes = labels_array.astype(np.int64), int(labels_array.max()) + 1
    details = {"images_key": key, "labels_key": lkey if labels is not None else None, "resize": "centre crop + bicubic"}
    return ArrayDataset(str(path), "npz", pixels, labels, num_classes=num_classes, details=details)
