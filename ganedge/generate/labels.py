"""Which class each image of a generate job gets: a pure function of its position in the job.

Image ``j`` of a job (seed ``seed + j``) gets ``LabelPlan.labels(j, j + 1)[0]`` whatever shard,
worker or machine renders it, so every shard is a pure function of the plan. Modes:

- ``none``: unconditional models; no labels at all.
- ``balanced``: ``j mod K``. Per-class counts over the job differ by at most 1 (and within any
  run of consecutive images too, so each shard is balanced as well).
- ``class``: every image gets class ``k`` (``--labels 3`` or ``--labels cat``).
- ``counts``: exact per-class counts from a CSV/JSON file. Image ``j`` takes the class whose
  slice of ``[0, N)`` holds ``pi(j) = j * a mod N``, with ``a`` near ``N / golden ratio`` and
  coprime to ``N``: a bijection, so every class gets exactly its count, and a Weyl sequence, so
  the classes are spread evenly through the job rather than in blocks (each shard holds about
  the job's proportions).
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ganedge.errors import BadInputError

MODES = ("none", "balanced", "class", "counts")
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def class_names_of(manifest: Any) -> list[str] | None:
    """The manifest's optional ``class_names`` (checked against num_classes when the manifest was read)."""
    return list(manifest.class_names) if manifest.class_names else None


def _multiplier(n: int) -> int:
    a = max(1, round(n * _GOLDEN)) % n if n > 1 else 0
    while math.gcd(a, n) != 1:
        a += 1
    return a


@dataclass(frozen=True)
class LabelPlan:
    mode: str
    num_classes: int
    counts: tuple[int, ...]  # images per class over the whole job; () for "none"

    @property
    def total(self) -> int:
        return sum(self.counts)

    def labels(self, start: int, stop: int) -> np.ndarray | None:
        """int64 labels of job images ``start .. stop-1``; None for unconditional jobs."""
        if self.mode == "none":
            return None
        index = np.arange(start, stop, dtype=np.int64)
        if self.mode == "balanced":
            return index % self.num_classes
        if self.mode == "class":
            return np.full(stop - start, self.counts.index(self.total), dtype=np.int64)
        n = self.total
        a = _multiplier(n)
        if n < 2**31:  # j * a < 2**62: exact in int64
            scrambled = index * a % n
        else:  # Python integers: exact for any size
            scrambled = np.array([j * a % n for j in range(start, stop)], dtype=np.int64)
        bounds = np.cumsum(np.array(self.counts, dtype=np.int64))
        return np.searchsorted(bounds, scrambled, side="right").astype(np.int64)

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "num_classes": self.num_classes, "counts": list(self.counts)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LabelPlan":
        return cls(str(data["mode"]), int(data["num_classes"]), tuple(int(c) for c in data["counts"]))


def balanced_counts(total: int, k: int) -> tuple[int, ...]:
    return tuple(total // k + (1 if c < total % k else 0) for c in range(k))


def resolve_class(text: str, num_classes: int, names: list[str] | None, where: str) -> int:
    """A class id from ``3`` or a class name; BadInputError naming the valid choices."""
    text = str(text).strip()
    if names and text in names:
        return names.index(text)
    try:
        k = int(text)
    except ValueError:
        shown = f"; class names: {', '.join(names[:20])}{' ...' if len(names) > 20 else ''}" if names else ""
        raise BadInputError(f"{where}: {text!r} is not a class of this model (ids 0..{num_classes - 1}{shown})") from None
    if not 0 <= k < num_classes:
        raise BadInputError(f"{where}: class {k} is out of range; this model has classes 0..{num_classes - 1}")
    return k


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise BadInputError(f"{where}: count {value!r} is not a whole number")
    try:
        number = float(value) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        raise BadInputError(f"{where}: count {value!r} is not a whole number") from None
    if isinstance(number, float) and (not number.is_integer() or not math.isfinite(number)):
        raise BadInputError(f"{where}: count {value!r} is not a whole number")
    if int(number) < 0:
        raise BadInputError(f"{where}: count {value!r} is negative")
    return int(number)


def _pairs_from_json(text: str, where: str) -> list[tuple[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInputError(f"{where} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(data, dict):
        return [(str(k), v) for k, v in data.items()]
    if isinstance(data, list):
        return [(str(i), v) for i, v in enumerate(data)]
    raise BadInputError(f"{where}: expected an object {{class: count}} or a list of counts, got {type(data).__name__}")


def _pairs_from_csv(text: str, where: str) -> list[tuple[str, Any]]:
    rows = [row for row in csv.reader(io.StringIO(text)) if row and any(cell.strip() for cell in row)]
    if rows and len(rows[0]) >= 2:
        try:
            float(rows[0][1])
        except ValueError:
            rows = rows[1:]  # a header such as "class,count"
    pairs = []
    for number, row in enumerate(rows, start=1):
        if len(row) != 2:
            raise BadInputError(f"{where}: row {number} has {len(row)} cells; each row is class,count")
        pairs.append((row[0].strip(), row[1].strip()))
    return pairs


def read_counts_file(path: Path, num_classes: int, names: list[str] | None) -> tuple[int, ...]:
    """Per-class counts from a JSON object/list or a ``class,count`` CSV; classes by id or name."""
    where = f"--labels {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{where}: cannot read the file ({exc})") from None
    is_json = path.suffix.lower() == ".json" or text.lstrip()[:1] in ("{", "[")
    pairs = _pairs_from_json(text, where) if is_json else _pairs_from_csv(text, where)
    if not pairs:
        raise BadInputError(f"{where} lists no classes; write one class,count per row (or a JSON object)")
    counts = [0] * num_classes
    seen: set[int] = set()
    for key, value in pairs:
        k = resolve_class(key, num_classes, names, where)
        if k in seen:
            raise BadInputError(f"{where}: class {key!r} is listed twice")
        seen.add(k)
        counts[k] = _count(value, f"{where}, class {key!r}")
    if sum(counts) == 0:
        raise BadInputError(f"{where}: the counts add up to 0; ask for at least one image")
    return tuple(counts)


def plan_labels(spec: str | None, manifest: Any, count: int | None) -> tuple[LabelPlan, int]:
    """(LabelPlan, total images) from ``--labels`` and ``--count``.

    A counts FILE defines the total; with ``--count`` as well the two must agree. Conditional
    models default to ``balanced``; unconditional ones refuse any ``--labels``.
    """
    k = manifest.num_classes
    if k == 0:
        if spec is not None:
            raise BadInputError(f"--labels {spec} was given but the model is unconditional; drop --labels")
        return LabelPlan("none", 0, ()), _need_count(count)
    names = class_names_of(manifest)
    text = "balanced" if spec is None else str(spec).strip()
    if text == "balanced":
        total = _need_count(count)
        return LabelPlan("balanced", k, balanced_counts(total, k)), total
    path = Path(text)
    if text.isdigit() or (names and text in names):
        cls = resolve_class(text, k, names, "--labels")
        total = _need_count(count)
        return LabelPlan("class", k, tuple(total if c == cls else 0 for c in range(k))), total
    if not path.is_file():
        shown = f", a class name ({', '.join(names[:10])}{' ...' if len(names) > 10 else ''})" if names else ""
        raise BadInputError(f"--labels {text!r} is not 'balanced', a class id 0..{k - 1}{shown}, "
                            "nor an existing CSV/JSON file of per-class counts")
    counts = read_counts_file(path, k, names)
    total = sum(counts)
    if count is not None and count != total:
        raise BadInputError(f"--labels {text} asks for {total} images but --count is {count}; drop --count "
                            "(the file defines the total) or make them agree")
    return LabelPlan("counts", k, counts), total


def _need_count(count: int | None) -> int:
    if count is None:
        raise BadInputError("--count is required (it may be left out only with --labels FILE, whose counts define it)")
    return count
