"""The run directory ``ganedge train`` writes (docs/contract.md, "Run directory"), each file readable on its own.

``weights.safetensors`` holds three state dicts under the prefixes ``G.``, ``G_ema.`` and
``D.``; ``optimizer.safetensors`` the Adam states under ``opt_G.`` and ``opt_D.``;
``state.json`` the step, time, RNG states and last metrics. Every file records the step it
belongs to, and ``state.json`` also the sha256 of the two tensor files, so a reader can
prove that the three belong together. Nothing here unpickles. How checkpoints are committed
(so a crash never pairs files of different steps) is :mod:`ganedge.train.rundir`'s job; rebuilding the
generator from these files is :mod:`ganedge.models.load`'s. Framework-free: safetensors and torch load
inside the functions that read or write tensors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ganedge.artifacts.manifest import Manifest, sha256_file
from ganedge.artifacts.onnx_meta import io_names
from ganedge.artifacts.run_config import RunConfig
from ganedge.errors import ArtifactError
from ganedge.fsutil import atomic_path, write_text_atomic

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
STATE_FILE = "state.json"
METRICS_FILE = "metrics.jsonl"
SAMPLES_DIR = "samples"
CHECKPOINTS_DIR = "checkpoints"
CHECKPOINT_FILES = (WEIGHTS_FILE, OPTIMIZER_FILE, STATE_FILE)
PREFIXES = ("G.", "G_ema.", "D.")


def is_run_dir(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / CONFIG_FILE).is_file()


def read_config(run_dir: str | Path) -> RunConfig:
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise ArtifactError(f"{run_dir} is not a ganedge run directory (no {CONFIG_FILE}); train one with `ganedge train`")
    return RunConfig.from_json(path.read_text(encoding="utf-8"), where=str(path))


# --- tensors <-> safetensors ----------------------------------------------------------------


def _save_tensors(path: str | Path, tensors: dict[str, Any], metadata: dict[str, Any] | None, atomic: bool) -> None:
    from safetensors.torch import save_file

    meta = {k: json.dumps(v) for k, v in (metadata or {}).items()}
    if not atomic:
        save_file(tensors, str(path), metadata=meta)
        return
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def _load_tensors(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"checkpoint file {path} is missing")
    try:
        flat = load_file(str(path))
        with safe_open(str(path), framework="pt") as handle:
            raw_meta = handle.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ArtifactError(f"{path} is not a readable safetensors file ({exc}); the checkpoint is damaged") from None
    meta = {}
    for key, value in raw_meta.items():
        try:
            meta[key] = json.loads(value)
        except json.JSONDecodeError:
            meta[key] = value
    return flat, meta


def save_weights(path: str | Path, modules: dict[str, Any], metadata: dict[str, Any] | None = None,
                 atomic: bool = True) -> None:
    """Write ``{"G": g, "G_ema": g_ema, "D": d}`` state dicts to one safetensors file (atomically by default)."""
    tensors = {}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"{name}.{key}"] = value.detach().contiguous().cpu()
    _save_tensors(path, tensors, metadata, atomic)


def load_weights(path: str | Path) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Read a weights file into ``{"G": state_dict, ...}`` plus its decoded metadata."""
    flat, meta = _load_tensors(path)
    groups: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        prefix, _, rest = key.partition(".")
        groups.setdefault(prefix, {})[rest] = value
    return groups, meta


def save_optimizers(path: str | Path, optimizers: dict[str, Any], metadata: dict[str, Any] | None = None,
                    atomic: bool = True) -> None:
    """Adam states as tensors ``<name>.<param index>.<key>``; hyper-parameters as JSON metadata."""
    tensors: dict[str, Any] = {}
    meta = dict(metadata or {})
    for name, optimizer in optimizers.items():
        state = optimizer.state_dict()
        for index, per_param in state["state"].items():
            for key, value in per_param.items():
                if not hasattr(value, "detach"):
                    raise TypeError(f"optimizer {name} holds a non-tensor state {key!r}; cannot store it safely")
                tensors[f"{name}.{index}.{key}"] = value.detach().contiguous().cpu()
        meta[f"{name}.param_groups"] = state["param_groups"]
    _save_tensors(path, tensors, meta, atomic)


def load_optimizers(path: str | Path, optimizers: dict[str, Any]) -> dict[str, Any]:
    """Restore the optimizers saved by :func:`save_optimizers` in place; return the file's metadata."""
    flat, meta = _load_tensors(path)
    for name, optimizer in optimizers.items():
        groups = meta.get(f"{name}.param_groups")
        if groups is None:
            raise ArtifactError(f"{path} holds no state for optimizer {name}")
        state: dict[int, dict[str, Any]] = {}
        for key, value in flat.items():
            owner, _, rest = key.partition(".")
            if owner == name:
                index, _, field = rest.partition(".")
                state.setdefault(int(index), {})[field] = value
        for group in groups:
            if "betas" in group:
                group["betas"] = tuple(group["betas"])
        try:
            optimizer.load_state_dict({"state": state, "param_groups": groups})
        except (ValueError, KeyError) as exc:
            raise ArtifactError(f"{path}: optimizer {name} state does not fit this model ({exc})") from None
    return meta


def write_state(path: str | Path, state: dict[str, Any], atomic: bool = True) -> None:
    text = json.dumps(state, indent=1, sort_keys=True)
    if atomic:
        write_text_atomic(path, text)
    else:
        Path(path).write_text(text, encoding="utf-8")


def read_state(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"checkpoint state {path} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path} is not valid JSON ({exc}); the checkpoint is damaged") from None
    if not isinstance(state, dict) or not isinstance(state.get("step"), int):
        raise ArtifactError(f"{path} records no step; the checkpoint is damaged")
    return state


def manifest_from_run(run_dir: str | Path, config: RunConfig, weights_meta: dict[str, Any],
                      precision: str = "fp32") -> Manifest:
    """The manifest of the generator in ``run_dir`` (``weights_meta``: the weights file's metadata)."""
    model = config.model
    inputs, outputs = io_names(model.num_classes)
    step = weights_meta.get("step")
    return Manifest(
        arch=model.arch,
        latent_dim=int(model.latent_dim),
        image_shape=tuple(int(v) for v in model.image_shape),
        num_classes=int(model.num_classes),
        class_names=model.class_names,
        precision=precision,
        inputs=tuple(inputs),
        output=outputs[0],
        source_sha256=sha256_file(Path(run_dir) / WEIGHTS_FILE),
        train_step=int(step) if isinstance(step, (int, float)) else None,
        dataset=str(config.dataset),
    )
