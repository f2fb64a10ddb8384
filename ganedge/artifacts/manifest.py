"""The manifest that travels with every exported artifact (docs/contract.md, "Manifest").

ONNX files carry it as the metadata_props entry ``ganedge``; TensorRT engines in a
``<engine>.json`` sidecar that adds the build's TensorRT/GPU facts. Pure Python: the SDK
reads it without onnx or torch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganedge import __version__
from ganedge.errors import ArtifactError

FORMAT = "ganedge/1"
ONNX_METADATA_KEY = "ganedge"
PRECISIONS = ("fp32", "fp16", "bf16", "int8")


@dataclass(frozen=True)
class Manifest:
    arch: str
    latent_dim: int
    image_shape: tuple[int, int, int]  # (C, H, W)
    num_classes: int = 0  # 0 = unconditional
    class_names: tuple[str, ...] | None = None  # one per class where known (a folder dataset's sub-folders)
    precision: str = "fp32"
    inputs: tuple[str, ...] = ("z",)
    output: str = "image"
    output_range: tuple[float, float] = (-1.0, 1.0)
    source_sha256: str | None = None
    train_step: int | None = None
    dataset: str | None = None
    fd: float | None = None  # quality at export time, where measured
    format: str = FORMAT
    ganedge_version: str = __version__
    # TensorRT sidecar facts and anything a newer writer added; kept so a round trip loses nothing.
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.class_names is not None:
            try:
                names = check_class_names(self.class_names, self.num_classes)
            except ValueError as exc:
                raise ArtifactError(f"manifest: {exc}") from None
            object.__setattr__(self, "class_names", names)

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    @property
    def channels(self) -> int:
        return self.image_shape[0]

    @property
    def height(self) -> int:
        return self.image_shape[1]

    @property
    def width(self) -> int:
        return self.image_shape[2]

    def replace(self, **changes: Any) -> "Manifest":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        data["image_shape"] = list(self.image_shape)
        data["inputs"] = list(self.inputs)
        data["output_range"] = list(self.output_range)
        if self.class_names is not None:
            data["class_names"] = list(self.class_names)
        data = {k: v for k, v in data.items() if v is not None}
        data.update(self.extra)
        return data

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "manifest") -> "Manifest":
        if not isinstance(data, dict):
            raise ArtifactError(f"{where}: manifest is not a JSON object")
        fmt = data.get("format")
        if fmt != FORMAT:
            raise ArtifactError(f"{where}: manifest format {fmt!r} is not {FORMAT!r}; re-export with this ganedge")
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        try:
            kwargs = {k: data[k] for k in known if k in data}
            kwargs["latent_dim"] = int(data["latent_dim"])
            shape = tuple(int(v) for v in data["image_shape"])
            if len(shape) != 3 or min(shape) < 1:
                raise ValueError(f"image_shape {shape} is not [C, H, W]")
            kwargs["image_shape"] = shape
            kwargs["num_classes"] = int(data.get("num_classes", 0))
            kwargs["inputs"] = tuple(str(v) for v in data.get("inputs", ("z",)))
            kwargs["output_range"] = tuple(float(v) for v in data.get("output_range", (-1.0, 1.0)))
            if kwargs["latent_dim"] < 1 or kwargs["num_classes"] < 0:
                raise ValueError("latent_dim must be >= 1 and num_classes >= 0")
            precision = kwargs.get("precision", "fp32")
            if precision not in PRECISIONS:
                raise ValueError(f"precision {precision!r} is not one of {PRECISIONS}")
            kwargs["arch"] = str(data["arch"])
            if data.get("class_names") is not None:
                kwargs["class_names"] = check_class_names(data["class_names"], kwargs["num_classes"])
        except KeyError as exc:
            raise ArtifactError(f"{where}: manifest lacks the field {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise ArtifactError(f"{where}: manifest is invalid: {exc}") from None
        kwargs["extra"] = {k: v for k, v in data.items() if k not in known}
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str, where: str = "manifest") -> "Manifest":
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ArtifactError(f"{where}: manifest is not valid JSON ({exc})") from None
        return cls.from_dict(data, where)


def check_class_names(names, num_classes: int) -> tuple[str, ...]:
    """``names`` as a tuple if they name ``num_classes`` classes: non-empty, unique strings; else ValueError."""
    if isinstance(names, (str, bytes)) or not isinstance(names, (list, tuple)):
        raise ValueError(f"class_names must be a list of strings, got {type(names).__name__}")
    names = tuple(names)
    if len(names) != num_classes:
        raise ValueError(f"class_names has {len(names)} name{'' if len(names) == 1 else 's'} for {num_classes} classes")
    bad = next((n for n in names if not isinstance(n, str) or not n.strip() or n != n.strip()), None)
    if bad is not None:
        raise ValueError(f"class name {bad!r} is not a non-empty string without surrounding spaces")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"class name {name!r} appears twice")
        seen.add(name)
    return names


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sidecar_path(engine_path: str | os.PathLike) -> Path:
    """The manifest beside a TensorRT engine: ``model.engine`` -> ``model.engine.json``."""
    p = Path(engine_path)
    return p.with_name(p.name + ".json")
