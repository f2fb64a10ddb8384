"""The small feature networks that stand in for Inception on the built-in datasets.

Each is a plain conv net trained (``scripts/train_feature_nets.py``) as a classifier of what
the dataset's images show: object count, shapes present and colours present for ``scenes``,
the digit for ``digits``, under augmentations that mimic generator artifacts (noise, blur,
colour jitter, blockiness, shifts, checkerboards), so that artifacts move features a little
and missing structure moves them a lot. Features are the global-average-pooled last conv
block (like Inception's pool3), taken before the classifier heads.

Shipped nets live in ``weights/<name>.safetensors`` beside ``weights/<name>.json``
(architecture, training data, accuracy, sha256 of the weights).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganedge.errors import ArtifactError, BadInputError
from ganedge.artifacts.manifest import sha256_file

WEIGHTS_DIR = Path(__file__).parent / "weights"
SHIPPED = {"scenes": "scenes-v1", "digits": "digits-v1"}  # dataset -> net name


@dataclass(frozen=True)
class FeatureNetConfig:
    name: str
    dataset: str
    input_size: int  # images are resized to this square size
    in_channels: int
    widths: tuple[int, ...] = (32, 64, 128)
    heads: tuple[tuple[str, int], ...] = ()  # (name, outputs) of the training heads
    version: int = 1
    fits: dict[str, Any] = field(default_factory=dict)  # what data the net may judge (e.g. shapes)
    training: dict[str, Any] = field(default_factory=dict)  # facts only: data, steps, accuracy

    @property
    def feature_dim(self) -> int:
        return self.widths[-1]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "dataset": self.dataset, "input_size": self.input_size,
                "in_channels": self.in_channels, "widths": list(self.widths),
                "heads": [list(h) for h in self.heads], "feature_dim": self.feature_dim,
                "version": self.version, "fits": self.fits, "training": self.training}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FeatureNetConfig":
        return cls(name=str(data["name"]), dataset=str(data["dataset"]), input_size=int(data["input_size"]),
                   in_channels=int(data["in_channels"]), widths=tuple(int(w) for w in data["widths"]),
                   heads=tuple((str(n), int(k)) for n, k in data["heads"]), version=int(data.get("version", 1)),
                   fits=dict(data.get("fits", {})), training=dict(data.get("training", {})))


def _conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class FeatureNet(nn.Module):
    """conv @ full size, then per width a stride-2 conv and a conv; global average pool."""

    def __init__(self, config: FeatureNetConfig):
        super().__init__()
        self.config = config
        w = config.widths
        layers = _conv_bn_relu(config.in_channels, w[0])
        for c_in, c_out in zip(w[:-1], w[1:]):
            layers += _conv_bn_relu(c_in, c_out, stride=2) + _conv_bn_relu(c_out, c_out)
        self.body = nn.Sequential(*layers)  # (N, w[-1], S / 2^(len(w)-1), same)
        self.dropout = nn.Dropout(0.2)
        self.heads = nn.ModuleDict({name: nn.Linear(w[-1], k) for name, k in config.heads})

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).mean(dim=(2, 3))  # (N, feature_dim)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.dropout(self.features(x))
        return {name: head(h) for name, head in self.heads.items()}


def prepare(images: torch.Tensor, in_channels: int, size: int, antialias: bool = True) -> torch.Tensor:
    """float (N, C, H, W) in [-1, 1] -> the net's channels and size (bilinear; antialiased when
    shrinking unless ``antialias=False``, which matches pytorch-fid's Inception resize)."""
    c = images.shape[1]
    if c != in_channels:
        if in_channels == 3 and c == 1:
            images = images.expand(-1, 3, -1, -1)
        elif in_channels == 1 and c == 3:
            luma = torch.tensor([0.299, 0.587, 0.114], dtype=images.dtype, device=images.device)
            images = (images * luma[None, :, None, None]).sum(dim=1, keepdim=True)
        else:
            raise BadInputError(f"cannot feed {c}-channel images to a {in_channels}-channel feature net")
    if images.shape[2] != size or images.shape[3] != size:
        shrink = antialias and images.shape[2] > size
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)
    return images.contiguous()


def load_feature_net(name_or_path: str | Path) -> FeatureNet:
    """A shipped net by name ("scenes-v1") or a ``.safetensors`` path with its ``.json`` beside it."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(name_or_path)
    if path.suffix != ".safetensors":
        path = WEIGHTS_DIR / f"{name_or_path}.safetensors"
    meta_path = path.with_suffix(".json")
    if not path.is_file() or not meta_path.is_file():
        raise ArtifactError(f"feature net {name_or_path}: {path} or {meta_path.name} is missing; "
                            "run scripts/train_feature_nets.py to create it")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        config = FeatureNetConfig.from_dict(meta)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"{meta_path} is not a feature net description ({exc})") from None
    expected, actual = meta.get("sha256"), sha256_file(path)
    if expected and actual != expected:
        raise ArtifactError(f"{path} does not match the sha256 in {meta_path.name}; the weights are damaged or stale")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ArtifactError(f"{path} is not a readable safetensors file ({exc})") from None
    net = FeatureNet(config)
    net.sha256 = actual  # identifies these weights in cache keys
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise ArtifactError(f"{path} does not fit the architecture in {meta_path.name} ({str(exc).splitlines()[0]})") from None
    return net.eval()


@torch.no_grad()
def extract(net: nn.Module, images_uint8: np.ndarray, in_channels: int, size: int, batch_size: int = 500,
            device: str = "cpu", antialias: bool = True) -> np.ndarray:
    """uint8 (N, H, W, C) -> float64 (N, feature_dim) from ``net.features``, in batches."""
    from ganedge.images import to_float

    chunks = []
    # No TF32 (cuDNN's default on Ampere+ GPUs rounds conv inputs to 10-bit mantissas): the
    # metric must give the numbers the CPU gives, up to float32 reduction order.
    with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True, allow_tf32=False):
        for start in range(0, images_uint8.shape[0], batch_size):
            x = torch.from_numpy(to_float(images_uint8[start : start + batch_size])).to(device)  # (B, C, H, W)
            chunks.append(net.features(prepare(x, in_channels, size, antialias)).double().cpu().numpy())
    return np.concatenate(chunks) if chunks else np.zeros((0, 0))
