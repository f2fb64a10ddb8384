"""Typed configuration of a run; ``config.json`` in a run directory is ``RunConfig.to_dict()``.

Framework-free on purpose: the SDK and the CLI read configs without torch.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from ganedge import __version__
from ganedge.errors import ConfigError

ARCHS = ("mlp", "dcgan", "resnet")
LOSSES = ("minimax", "ns", "lsgan", "hinge", "wgan-gp")


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild G and D with the same parameter shapes."""

    arch: str = "dcgan"
    latent_dim: int = 128
    image_shape: tuple[int, int, int] = (3, 32, 32)  # (C, H, W)
    num_classes: int = 0  # 0 = unconditional
    g_width: int | None = None  # base channels (mlp: hidden units); None = the arch's default
    d_width: int | None = None
    d_spectral_norm: bool = True

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ConfigError(f"unknown architecture {self.arch!r}; choose one of {', '.join(ARCHS)}")
        c, h, w = self.image_shape
        if h != w:
            raise ConfigError(f"images must be square, got {h}x{w}")
        if self.arch in ("dcgan", "resnet") and (h < 16 or h > 128 or h & (h - 1)):
            raise ConfigError(f"{self.arch} supports sizes 16, 32, 64, 128; got {h}")
        if c not in (1, 3):
            raise ConfigError(f"images must have 1 or 3 channels, got {c}")
        if self.latent_dim < 1 or self.num_classes < 0 or (self.g_width or 1) < 1 or (self.d_width or 1) < 1:
            raise ConfigError("latent_dim, g_width and d_width must be >= 1 and num_classes >= 0")


@dataclass(frozen=True)
class TrainConfig:
    loss: str = "ns"
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.0, 0.99)
    r1_gamma: float = 0.0  # R1 penalty weight on real data (0 = off)
    gp_weight: float = 10.0  # gradient penalty weight for wgan-gp
    d_steps: int = 1  # D updates per G update
    ema_decay: float = 0.999  # 0 = no EMA
    ema_start: int = 0  # step from which EMA tracks G (before: copies it)
    diffaugment: str = ""  # e.g. "color,translation,cutout"; "" = off
    steps: int | None = None
    minutes: float | None = None
    seed: int = 0
    log_every: int = 100
    sample_every: int = 1000
    checkpoint_every: int = 1000

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ConfigError(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        if self.batch_size < 1:
            raise ConfigError("batch_size must be >= 1")


@dataclass(frozen=True)
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    dataset: str = "scenes"  # "scenes", "digits", or a path
    dataset_options: dict[str, Any] = field(default_factory=dict)
    ganedge_version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "config.json") -> "RunConfig":
        try:
            model = dict(data["model"])
            model["image_shape"] = tuple(model["image_shape"])
            train = dict(data.get("train", {}))
            if "betas" in train:
                train["betas"] = tuple(train["betas"])
            return cls(
                model=ModelConfig(**model),
                train=TrainConfig(**train),
                dataset=str(data.get("dataset", "scenes")),
                dataset_options=dict(data.get("dataset_options", {})),
                ganedge_version=str(data.get("ganedge_version", "unknown")),
            )
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: not a ganedge run config ({type(exc).__name__}: {exc})") from None

    @classmethod
    def from_json(cls, text: str, where: str = "config.json") -> "RunConfig":
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{where}: not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: not a JSON object")
        return cls.from_dict(data, where)
