"""Reading and writing the weights of a run directory (DESIGN.md, "Run directory").

``weights.safetensors`` holds three state dicts under the prefixes ``G.``, ``G_ema.`` and
``D.``; its safetensors metadata records the training step. Nothing here unpickles.
The training loop owns the rest of a checkpoint (optimizer, state.json, RNG states).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ganedge.errors import ArtifactError, ConfigError
from ganedge.fsutil import atomic_path
from ganedge.train.config import RunConfig

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"
STATE_FILE = "state.json"
PREFIXES = ("G.", "G_ema.", "D.")


def is_run_dir(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / CONFIG_FILE).is_file()


def read_config(run_dir: str | Path) -> RunConfig:
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise ArtifactError(f"{run_dir} is not a ganedge run directory (no {CONFIG_FILE}); train one with `ganedge train`")
    return RunConfig.from_json(path.read_text(encoding="utf-8"), where=str(path))


def save_weights(path: str | Path, modules: dict[str, Any], metadata: dict[str, Any] | None = None) -> None:
    """Write ``{"G": g, "G_ema": g_ema, "D": d}`` state dicts to one safetensors file, atomically."""
    from safetensors.torch import save_file

    tensors = {}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"{name}.{key}"] = value.detach().contiguous().cpu()
    meta = {k: json.dumps(v) for k, v in (metadata or {}).items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def load_weights(path: str | Path) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Read a weights file into ``{"G": state_dict, ...}`` plus its decoded metadata."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"weights file {path} is missing")
    try:
        flat = load_file(str(path))
        with safe_open(str(path), framework="pt") as handle:
            raw_meta = handle.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ArtifactError(f"{path} is not a readable safetensors file ({exc}); the checkpoint is damaged") from None
    groups: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        prefix, _, rest = key.partition(".")
        groups.setdefault(prefix, {})[rest] = value
    meta = {}
    for key, value in raw_meta.items():
        try:
            meta[key] = json.loads(value)
        except json.JSONDecodeError:
            meta[key] = value
    return groups, meta


def load_generator(run_dir: str | Path, ema: bool = True, device: str = "cpu"):
    """Rebuild G from a run directory: ``(generator in eval mode, RunConfig, weights metadata)``.

    ``ema=True`` (the default for sampling and export) uses the EMA weights when the run has them.
    """
    from ganedge.train.models import build_generator

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
