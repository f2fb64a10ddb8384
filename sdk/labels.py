"""Class labels as users give them (ints, class names, one per image) -> what a runner takes.

A runner takes either int64 class indices (n,) or, where the model's graph has a float class input
(``Runner.label_input == "onehot"``), float32 class weights (n, K): a one-hot row per image, or a blend of
two classes. Names resolve through the manifest's ``class_names``; a wrong name lists the valid ones.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ganedge.artifacts.manifest import Manifest
from ganedge.errors import BadInputError

INTEGER_ONLY = ("this model takes an integer class label; blending between classes needs a model whose graph "
                "takes a one-hot or embedding input")


def _names_hint(manifest: Manifest) -> str:
    names = manifest.class_names
    if not names:
        return f"classes 0..{manifest.num_classes - 1} (the model has no class names)"
    shown = ", ".join(names[:50]) + (f", ... ({len(names)} in all)" if len(names) > 50 else "")
    return f"classes {shown}"


def class_index(manifest: Manifest, value: Any) -> int:
    """One class as an index: an int in [0, K) or one of the manifest's class names."""
    k = manifest.num_classes
    if isinstance(value, (bool, np.bool_)):
        raise BadInputError(f"a class label must be an integer in [0, {k}) or a class name, not a bool")
    if isinstance(value, numbers.Integral):
        if not 0 <= int(value) < k:
            raise BadInputError(f"label {int(value)} is out of range: this model has classes 0..{k - 1}")
        return int(value)
    if isinstance(value, (str, np.str_)):
        names = manifest.class_names
        if not names:
            raise BadInputError(f"class name {str(value)!r} given, but this model has no class names; pass an index "
                                f"in [0, {k}) (export with --class-names FILE to name the classes)")
        if value not in names:
            raise BadInputError(f"unknown class {str(value)!r}; this model's classes are: {', '.join(names)}")
        return names.index(str(value))
    raise BadInputError(f"a class label must be an integer in [0, {k}) or a class name, got {type(value).__name__}")


def check_label_source(manifest: Manifest, labels: Any, n: int) -> int | np.ndarray | None:
    """Labels checked now, without building one per image: None (unconditional), one class index for every
    image, or an (n,) array sliced per batch (an integer ``np.memmap`` is checked in place, never copied).

    For a huge n pass one class (an int or a name): a list of n labels is itself n objects."""
    if manifest.num_classes and isinstance(labels, (numbers.Integral, str, np.str_)) \
            and not isinstance(labels, (bool, np.bool_)):
        return class_index(manifest, labels)
    if isinstance(labels, np.ndarray) and labels.dtype.kind in "iu" and labels.ndim == 1 and manifest.num_classes:
        k = manifest.num_classes
        if labels.shape[0] != n:
            raise BadInputError(f"got {labels.shape[0]} labels for {n} images; pass one per image or a single class")
        if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= k):
            bad = int(labels.min()) if int(labels.min()) < 0 else int(labels.max())
            raise BadInputError(f"label {bad} is out of range: this model has classes 0..{k - 1}")
        return labels
    return check_labels(manifest, labels, n)


def label_batch(source: int | np.ndarray | None, start: int, stop: int) -> np.ndarray | None:
    """int64 labels of images ``start:stop`` from what :func:`check_label_source` returned."""
    if source is None:
        return None
    if isinstance(source, int):
        return np.full(stop - start, source, dtype=np.int64)
    return np.ascontiguousarray(source[start:stop], dtype=np.int64)


def check_labels(manifest: Manifest, labels: Any, n: int) -> np.ndarray | None:
    """None for unconditional models; int64 (n,) in [0, num_classes) for conditional ones.

    ``labels``: one class (an int or a name) for every image, or a sequence of n classes.
    """
    k = manifest.num_classes
    if k == 0:
        if labels is not None:
            raise BadInputError("this model is unconditional: do not pass labels")
        return None
    if labels is None:
        raise BadInputError(f"this model is conditional on {k} classes: pass labels= (an int in [0, {k}), "
                            f"a class name, or one per image; {_names_hint(manifest)})")
    if isinstance(labels, (numbers.Integral, str, np.str_, np.bool_, bool)):
        return np.full(n, class_index(manifest, labels), dtype=np.int64)
    values = labels
    if not isinstance(labels, np.ndarray):
        try:
            values = list(labels)
        except TypeError:
            raise BadInputError(f"labels must be an int, a class name, or a sequence of them, got "
                                f"{type(labels).__name__}") from None
        if not any(isinstance(v, (str, np.str_)) for v in values):  # numbers only: check them as one array
            try:
                values = np.asarray(values)
            except ValueError:
                raise BadInputError("labels must be an int, a class name, or a 1-D sequence of them") from None
    if isinstance(values, np.ndarray) and (values.ndim != 1 or values.dtype.kind not in "iuUO"):
        raise BadInputError(f"labels must be an int, a class name, or a 1-D sequence of them, got "
                            f"{values.dtype} {values.shape}")
    if len(values) != n:
        raise BadInputError(f"got {len(values)} labels for {n} images; pass one per image or a single class")
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        if values.size and (int(values.min()) < 0 or int(values.max()) >= k):
            bad = int(values.min()) if int(values.min()) < 0 else int(values.max())
            raise BadInputError(f"label {bad} is out of range: this model has classes 0..{k - 1}")
        return np.ascontiguousarray(values, dtype=np.int64)
    items = values.tolist() if isinstance(values, np.ndarray) else values
    return np.array([class_index(manifest, v) for v in items], dtype=np.int64).reshape(n)


def one_hot(indices: np.ndarray, num_classes: int) -> np.ndarray:
    """float32 (n, K) rows with a single 1 at each index: the class weights of whole classes."""
    weights = np.zeros((indices.shape[0], num_classes), dtype=np.float32)
    weights[np.arange(indices.shape[0]), indices] = 1.0
    return weights


def check_weights(manifest: Manifest, weights: Any, n: int, label_input: str) -> np.ndarray:
    """float32 (n, K) class weights (rows of non-negative numbers) for a model that takes them."""
    if label_input != "onehot":
        raise BadInputError(INTEGER_ONLY)
    array = np.asarray(weights)
    if array.dtype.kind != "f" or array.shape != (n, manifest.num_classes) or not np.isfinite(array).all():
        raise BadInputError(f"class weights must be finite floats of shape ({n}, {manifest.num_classes}), "
                            f"got {array.dtype} {array.shape}")
    return np.ascontiguousarray(array, dtype=np.float32)


def merge_for_runner(parts: list[np.ndarray | None], num_classes: int) -> np.ndarray | None:
    """Concatenate per-request labels: int64 when all are indices, float32 weights when any is a blend."""
    if parts[0] is None:
        return None
    if all(p.ndim == 1 for p in parts):
        return np.concatenate(parts)
    return np.concatenate([one_hot(p, num_classes) if p.ndim == 1 else p for p in parts])


def key_classes(manifest: Manifest, labels: Any, keys: int) -> tuple[int, ...] | None:
    """The class of each of ``keys`` key frames: one class for all, or one per key (a pair for two keys)."""
    if manifest.num_classes == 0:
        if labels is not None:
            raise BadInputError("this model is unconditional: do not pass labels")
        return None
    if labels is None or isinstance(labels, (numbers.Integral, str, np.str_)):
        return tuple(int(v) for v in check_labels(manifest, labels, keys))
    values = list(labels) if not isinstance(labels, np.ndarray) else labels.tolist()
    if len(values) != keys:
        raise BadInputError(f"labels: give one class (for every frame) or one per key ({keys}: "
                            f"{'a pair (class a -> class b)' if keys == 2 else 'one per seed'}), got {len(values)}")
    return tuple(class_index(manifest, v) for v in values)
