"""Rebuild a run directory's generator as a torch module, for export, evaluation and the SDK's torch backend."""

from __future__ import annotations

from pathlib import Path

from ganedge.artifacts.run_dir import WEIGHTS_FILE, load_weights, read_config
from ganedge.errors import ArtifactError, ConfigError


def load_generator(run_dir: str | Path, ema: bool = True, device: str = "cpu"):
    """``(generator in eval mode, RunConfig, weights metadata)`` from a run directory.

    ``ema=True`` (the default for sampling and export) uses the EMA weights when the run has them.
    """
    from ganedge.models import build_generator

    run_dir = Path(run_dir)
    config = read_config(run_dir)
    groups, meta = load_weights(run_dir / WEIGHTS_FILE)
    name = "G_ema" if ema and "G_ema" in groups else "G"
    if name not in groups:
        raise ArtifactError(f"{run_dir / WEIGHTS_FILE} holds no generator weights")
    generator = build_generator(config.model)
    try:
        generator.load_state_dict(groups[name])
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"{run_dir}: weights do not fit a {config.model.arch} generator with this config ({first})") from None
    meta.setdefault("weights", name)
    return generator.to(device).eval(), config, meta
