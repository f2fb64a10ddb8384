"""Typed configuration of a run; ``config.json`` in a run directory is ``RunConfig.to_dict()``.

Framework-free on purpose: the SDK and the CLI read configs without torch.

Fields fall in two kinds. Those that shape the result (architecture, loss, optimizer, seed,
dataset, the data block size) are fixed when a run starts: ``--resume`` refuses to change
them, because a resumed run must continue exactly where the killed one stopped. Those in
:data:`RESUMABLE_FIELDS` (the budget and how often to log, sample and checkpoint) may change
between resumes.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

from ganedge import __version__
from ganedge.artifacts.manifest import check_class_names
from ganedge.errors import ConfigError

ARCHS = ("mlp", "dcgan", "resnet")
LOSSES = ("minimax", "ns", "lsgan", "hinge", "wgan-gp")
OPTIMIZERS = ("adam",)
AUGMENTS = ("color", "translation", "cutout")

# TrainConfig fields a resumed run may set anew (they change when and how long, not what is computed).
RESUMABLE_FIELDS = ("steps", "minutes", "log_every", "sample_every", "checkpoint_every", "keep_checkpoints")


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
    class_names: tuple[str, ...] | None = None  # what each class is (a folder dataset's sub-folder names)

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
        if self.class_names is not None:
            try:
                object.__setattr__(self, "class_names", check_class_names(self.class_names, self.num_classes))
            except ValueError as exc:
                raise ConfigError(str(exc)) from None


def parse_augment(spec: str) -> tuple[str, ...]:
    """``"color,translation"`` -> ("color", "translation"); "" -> (); unknown names are an error."""
    names = tuple(part.strip() for part in spec.split(",") if part.strip())
    unknown = [n for n in names if n not in AUGMENTS]
    if unknown:
        raise ConfigError(f"unknown DiffAugment policy {unknown[0]!r}; use a comma list of {', '.join(AUGMENTS)}")
    return names


@dataclass(frozen=True)
class TrainConfig:
    loss: str = "hinge"
    optimizer: str = "adam"
    batch_size: int = 64  # global: split evenly across DDP ranks
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.0, 0.99)
    r1_gamma: float = 0.0  # R1 penalty weight on real data (0 = off)
    r1_every: int = 16  # lazy R1: apply the penalty (scaled up) every this many D steps
    gp_weight: float = 10.0  # gradient penalty weight for wgan-gp
    d_steps: int = 1  # D updates per G update
    ema_decay: float = 0.999  # 0 = no EMA (G_ema is a copy of G)
    ema_start: int = 0  # step from which EMA tracks G (before: copies it)
    diffaugment: str = ""  # e.g. "color,translation,cutout"; "" = off
    data_block_steps: int = 8  # the dataset is drawn in blocks of this many steps' batches
    steps: int | None = None  # total steps of the run (resume continues up to it)
    minutes: float | None = None  # total training wall time of the run, across resumes
    seed: int = 0
    log_every: int = 100
    sample_every: int = 1000
    checkpoint_every: int = 1000
    keep_checkpoints: int = 2  # complete checkpoints kept in checkpoints/ (the newest ones)

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ConfigError(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if self.batch_size < 1:
            raise ConfigError("batch_size must be >= 1")
        for name in ("lr_g", "lr_d"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be a positive number, got {value}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(f"betas must be two numbers in [0, 1), got {self.betas}")
        if self.r1_gamma < 0 or self.gp_weight < 0:
            raise ConfigError("r1_gamma and gp_weight must be >= 0")
        if not 0 <= self.ema_decay < 1:
            raise ConfigError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        for name in ("r1_every", "d_steps", "data_block_steps", "log_every", "sample_every", "checkpoint_every",
                     "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.steps is not None and self.steps < 0:
            raise ConfigError(f"steps must be >= 0, got {self.steps}")
        if self.minutes is not None and not (math.isfinite(self.minutes) and self.minutes > 0):
            raise ConfigError(f"minutes must be a positive number, got {self.minutes}")
        if self.ema_start < 0 or not 0 <= self.seed < 2**63:
            raise ConfigError("ema_start must be >= 0 and seed in [0, 2**63)")
        parse_augment(self.diffaugment)

    @property
    def augment_policy(self) -> tuple[str, ...]:
        return parse_augment(self.diffaugment)


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

    def replace_train(self, **changes: Any) -> "RunConfig":
        return dataclasses.replace(self, train=dataclasses.replace(self.train, **changes))

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


def conflicting_fields(stored: RunConfig, requested: RunConfig, given: set[str]) -> list[str]:
    """Names (``model.arch``, ``train.loss``, ``dataset`` ...) among ``given`` whose requested value differs
    from the stored run's and may not change on resume."""
    conflicts = []
    for name in sorted(given):
        section, _, attr = name.partition(".")
        if section == "train" and attr in RESUMABLE_FIELDS:
            continue
        old = getattr(getattr(stored, section), attr) if attr else getattr(stored, section)
        new = getattr(getattr(requested, section), attr) if attr else getattr(requested, section)
        if old != new:
            conflicts.append(f"{name}={_show(new)} (run has {_show(old)})")
    return conflicts


def _show(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value
