"""Named training recipes: ``fast`` learns in CPU minutes, ``quality`` is the GPU recipe.

``ganedge train`` starts from one of them (``--preset``; by default the one for the device
training runs on) and every option given on the command line overrides it. Measured on the
project's 2-core CPU at 32x32:

* ``fast``: a DCGAN pair of width 32 without spectral norm, lazy R1 (gamma 1 every 8 D steps),
  hinge loss, lr 1.5e-3 with Adam (0, 0.99), batch 32, an EMA of G with a short horizon: the
  demo's recipe (``ganedge.demo`` gives the FD comparison that chose it: at equal CPU time a
  DCGAN reached FD 9.4 where the SN-ResNet reached 20.5). 8 steps/s on a quiet machine,
  8-10x the steps per second of ``quality`` in every side-by-side run.
* ``quality``: the spectrally normalised ResNet pair at lr 2e-4, batch 64, EMA 0.999: the
  better model given GPU hours, but 0.75 steps/s on a quiet 2-core CPU (10,000 steps: 3.7 h).

Widths follow the preset only for its own architecture (``--arch mlp`` keeps the mlp's).

Framework-free: the CLI reads it before torch loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ganedge.artifacts.run_config import RunConfig


@dataclass(frozen=True)
class Preset:
    name: str
    purpose: str
    # config field -> value, named as the CLI names them: "model.arch", "train.lr_g", ...
    fields: dict[str, Any] = field(default_factory=dict)

    def section(self, prefix: str) -> dict[str, Any]:
        """``section("model")`` -> ModelConfig keyword arguments (``{"arch": "dcgan", ...}``)."""
        return {key.split(".", 1)[1]: value for key, value in self.fields.items() if key.startswith(prefix + ".")}


PRESETS: dict[str, Preset] = {
    "fast": Preset("fast", "learns in minutes on a CPU", {
        "model.arch": "dcgan", "model.g_width": 32, "model.d_width": 32, "model.d_spectral_norm": False,
        "train.loss": "hinge", "train.batch_size": 32, "train.lr_g": 1.5e-3, "train.lr_d": 1.5e-3,
        "train.betas": (0.0, 0.99), "train.r1_gamma": 1.0, "train.r1_every": 8, "train.ema_decay": 0.995,
    }),
    "quality": Preset("quality", "the better model given GPU hours", {
        "model.arch": "resnet", "model.g_width": None, "model.d_width": None, "model.d_spectral_norm": True,
        "train.loss": "hinge", "train.batch_size": 64, "train.lr_g": 2e-4, "train.lr_d": 2e-4,
        "train.betas": (0.0, 0.99), "train.r1_gamma": 0.0, "train.r1_every": 16, "train.ema_decay": 0.999,
    }),
}
PRESET_FIELDS = tuple(PRESETS["fast"].fields)  # every preset sets the same fields


def auto_preset(device: str) -> str:
    """The preset for a resolved device: ``quality`` on a GPU, ``fast`` on a CPU."""
    return "quality" if device.startswith("cuda") else "fast"


def preset_default_text(name: str) -> str:
    """Help text for an option a preset sets: ``"fast: 32, quality: 64"``."""
    def show(value: Any) -> str:
        if isinstance(value, tuple):
            return ",".join(f"{v:g}" for v in value)
        if isinstance(value, bool):
            return "on" if value else "off"
        return "the arch's" if value is None else f"{value:g}" if isinstance(value, float) else str(value)

    shown = {p.name: show(p.fields[name]) for p in PRESETS.values()}
    if len(set(shown.values())) == 1:
        return next(iter(shown.values()))
    return ", ".join(f"{preset}: {text}" for preset, text in shown.items())


def describe_recipe(config: RunConfig) -> str:
    """One line naming what a run trains with: architecture, widths, loss, optimizer, penalties, EMA."""
    m, t = config.model, config.train
    widths = "default widths" if m.g_width is None and m.d_width is None else \
        f"width {m.g_width or 'default'}/{m.d_width or 'default'}"
    penalties = [f"R1 {t.r1_gamma:g} every {t.r1_every}"] if t.r1_gamma else []
    if t.loss == "wgan-gp":
        penalties.append(f"GP {t.gp_weight:g}")
    if t.diffaugment:
        penalties.append(f"DiffAugment {t.diffaugment}")
    c, h, w = m.image_shape
    parts = [f"{m.arch} {widths}", f"spectral norm {'on' if m.d_spectral_norm else 'off'}", f"{t.loss} loss",
             f"batch {t.batch_size}", f"Adam lr {t.lr_g:g}/{t.lr_d:g} betas {t.betas[0]:g},{t.betas[1]:g}",
             *penalties, f"EMA {t.ema_decay:g}" if t.ema_decay else "no EMA", f"{c}x{h}x{w}"]
    if t.d_steps > 1:
        parts.insert(4, f"{t.d_steps} D steps per G step")
    return ", ".join(parts)
