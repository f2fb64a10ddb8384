"""The plan of a generate job: which seeds, labels and files each shard holds.

Shard ``i`` holds job images ``i*shard_size .. min(count, (i+1)*shard_size) - 1``, i.e. seeds
``seed + i*shard_size ...``, with the labels :class:`LabelPlan` gives those positions. A shard
is therefore a pure function of (model, seeds, labels, truncation, format): any worker on any
machine renders the same shard, and a resumed job can redo any subset of shards.

``OUT/plan.json`` is written before any shard. Its *identity* (model sha256, count, seed,
shard size, truncation, format, labels) decides whether a later ``--resume`` continues it;
execution settings (workers, Ray, batch size, threads, backend) may change between runs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganedge.errors import ArtifactError, BadInputError
from ganedge.generate.labels import LabelPlan, class_names_of
from ganedge.latents import MAX_SEED
from ganedge.artifacts.manifest import Manifest, sha256_file

PLAN_FILE = "plan.json"
INDEX_FILE = "index.json"
PLAN_FORMAT = "ganedge-generate/1"
FORMATS = ("webdataset", "folder", "npz")
MAX_SHARDS = 1_000_000  # plan.json lists every shard; more means --shard-size is far too small
IDENTITY = ("model_sha256", "count", "seed", "shard_size", "truncation", "format", "labels")
UNCONDITIONAL_FOLDER = "images"
# What a run directory's generator is made of (the run-directory contract): its sha256 covers these.
RUN_DIR_FILES = ("config.json", "weights.safetensors")


def model_sha256(path: Path) -> str:
    """sha256 of an ONNX file or engine; for a run directory, of its config and weights together."""
    if not path.is_dir():
        return sha256_file(path)
    digest = hashlib.sha256()
    for name in RUN_DIR_FILES:
        part = path / name
        if part.is_file():
            digest.update(f"{name}\0{sha256_file(part)}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Shard:
    index: int
    start: int  # position of its first image in the job
    count: int
    first_seed: int

    @property
    def name(self) -> str:
        return f"{self.index:06d}"

    @property
    def seeds(self) -> range:
        return range(self.first_seed, self.first_seed + self.count)

    def to_dict(self) -> dict[str, int]:
        return {"index": self.index, "start": self.start, "count": self.count, "first_seed": self.first_seed}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Shard":
        return cls(int(data["index"]), int(data["start"]), int(data["count"]), int(data["first_seed"]))


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._ -]+", "_", name).strip(" .")[:60]
    return cleaned


def class_folders(num_classes: int, names: list[str] | None) -> list[str]:
    """Sub-folder per class: zero-padded id (plus ``-name`` where the manifest names classes), so
    sorting the folder names, as ImageFolder and ``ganedge train`` do, gives back the model's ids."""
    if num_classes == 0:
        return [UNCONDITIONAL_FOLDER]
    width = len(str(num_classes - 1))
    folders = []
    for k in range(num_classes):
        safe = _safe_name(names[k]) if names else ""
        folders.append(f"{k:0{width}d}-{safe}" if safe else f"{k:0{width}d}")
    return folders


@dataclass(frozen=True)
class Plan:
    model: str
    model_sha256: str
    manifest: dict[str, Any]
    count: int
    seed: int
    shard_size: int
    truncation: float
    format: str
    labels: LabelPlan
    created: int = field(default_factory=lambda: int(time.time()))  # when the job began (information only)
    arguments: dict[str, Any] = field(default_factory=dict)  # how it was invoked (information only)

    def __post_init__(self) -> None:
        if self.count < 1:
            raise BadInputError(f"--count must be at least 1, got {self.count}")
        if self.shard_size < 1:
            raise BadInputError(f"--shard-size must be at least 1, got {self.shard_size}")
        if not 0 <= self.seed or self.seed + self.count > MAX_SEED:
            raise BadInputError(f"seeds {self.seed}..{self.seed + self.count - 1} leave [0, 2**63); lower --seed or --count")
        if self.format not in FORMATS:
            raise BadInputError(f"--format {self.format!r} is not one of {', '.join(FORMATS)}")
        if not math.isfinite(self.truncation):
            raise BadInputError(f"--truncation must be finite, got {self.truncation}")
        if math.ceil(self.count / self.shard_size) > MAX_SHARDS:
            raise BadInputError(f"{self.count} images in shards of {self.shard_size} make more than {MAX_SHARDS} "
                                "shards; raise --shard-size")
        if self.labels.mode != "none" and self.labels.total != self.count:
            raise BadInputError(f"the labels cover {self.labels.total} images but --count is {self.count}")

    # --- derived --------------------------------------------------------------------------------

    @functools.cached_property
    def shards(self) -> list[Shard]:
        return [Shard(i, start, min(self.shard_size, self.count - start), self.seed + start)
                for i, start in enumerate(range(0, self.count, self.shard_size))]

    @property
    def num_classes(self) -> int:
        return self.labels.num_classes

    @functools.cached_property
    def class_names(self) -> list[str] | None:
        return class_names_of(Manifest.from_dict(self.manifest, where="plan.json"))

    @functools.cached_property
    def folders(self) -> list[str]:
        return class_folders(self.num_classes, self.class_names)

    def classes(self) -> list[dict[str, Any]]:
        """[{id, name, folder}] per class (one entry, id None, for unconditional jobs)."""
        if self.num_classes == 0:
            return [{"id": None, "name": None, "folder": self.folders[0]}]
        names = self.class_names or [None] * self.num_classes
        return [{"id": k, "name": names[k], "folder": self.folders[k]} for k in range(self.num_classes)]

    # --- (de)serialisation and matching -----------------------------------------------------------

    def identity(self) -> dict[str, Any]:
        data = self.to_dict()
        return {key: data[key] for key in IDENTITY}

    def to_dict(self) -> dict[str, Any]:
        return {"format_version": PLAN_FORMAT, "model": self.model, "model_sha256": self.model_sha256,
                "manifest": self.manifest, "count": self.count, "seed": self.seed, "shard_size": self.shard_size,
                "truncation": self.truncation, "format": self.format, "labels": self.labels.to_dict(),
                "created": self.created, "arguments": self.arguments, "classes": self.classes(),
                "shards": [s.to_dict() for s in self.shards]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + "\n"

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "Plan":
        if not isinstance(data, dict) or data.get("format_version") != PLAN_FORMAT:
            raise ArtifactError(f"{where} is not a ganedge generate plan ({PLAN_FORMAT}); choose another -o")
        try:
            plan = cls(model=str(data["model"]), model_sha256=str(data["model_sha256"]), manifest=dict(data["manifest"]),
                       count=int(data["count"]), seed=int(data["seed"]), shard_size=int(data["shard_size"]),
                       truncation=float(data["truncation"]), format=str(data["format"]),
                       labels=LabelPlan.from_dict(data["labels"]), created=int(data["created"]),
                       arguments=dict(data.get("arguments") or {}))
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"{where} is damaged ({type(exc).__name__}: {exc}); delete -o's folder to start over") from None
        if [s.to_dict() for s in plan.shards] != data.get("shards"):
            raise ArtifactError(f"{where}: its shard list does not follow from its count and shard_size; it was edited")
        return plan

    @classmethod
    def read(cls, path: Path) -> "Plan":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ArtifactError(f"{path} is unreadable ({exc}); delete it only if no shard of that job should be kept") from None
        return cls.from_dict(data, str(path))

    def differences(self, other: "Plan") -> list[str]:
        """What ``other`` (this run's arguments) changes against this (stored) plan, in words."""
        mine, theirs = self.identity(), other.identity()
        return [f"{_ARG_NAMES[key]} is {_show(key, mine[key])} in plan.json but {_show(key, theirs[key])} now"
                for key in IDENTITY if mine[key] != theirs[key]]


_ARG_NAMES = {"model_sha256": "the model (sha256)", "count": "--count", "seed": "--seed", "shard_size": "--shard-size",
              "truncation": "--truncation", "format": "--format", "labels": "--labels"}


def _show(key: str, value: Any) -> str:
    if key == "model_sha256":
        return str(value)[:12]
    if key == "labels":
        counts = value["counts"]
        shown = ",".join(map(str, counts[:8])) + (",..." if len(counts) > 8 else "")
        return f"{value['mode']} [{shown}]" if counts else value["mode"]
    return repr(value)
