"""Real-feature cache on disk, so `ganedge eval` after `ganedge train` skips the real half.

Only for the built-in datasets, whose images are a function of code (scenes carries a version
in ``describe()``): a user's folder can change under the same path, so it is cached in memory
only. Entries are keyed by sha256 of everything that determines them (dataset description,
N, seed, feature net and its weights' sha256), written atomically, read with
``allow_pickle=False``; anything unreadable is ignored and recomputed. Location:
``$GANEDGE_CACHE_DIR`` or ``~/.cache/ganedge``, under ``metrics/``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ganedge.errors import OutputError
from ganedge.fsutil import write_bytes_atomic

CACHEABLE_KINDS = ("scenes", "digits")
_FLOOR_KEYS = ("fd", "kid", "kid_std", "precision", "recall")


def cache_dir(setting: str | os.PathLike | bool | None) -> Path | None:
    """``False`` disables; ``None`` means $GANEDGE_CACHE_DIR or ~/.cache/ganedge."""
    if setting is False:
        return None
    if setting is None or setting is True:
        env = os.environ.get("GANEDGE_CACHE_DIR")
        setting = Path(env) if env else Path.home() / ".cache" / "ganedge"
    return Path(setting) / "metrics"


def entry_path(folder: Path, key: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:24]
    return folder / f"real-{digest}.npz"


def load(path: Path, n: int) -> dict[str, Any] | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            ref = {"features": data["features"], "labels": data["labels"],
                   "floor": {k: float(data[f"floor_{k}"]) for k in _FLOOR_KEYS}}
    except (OSError, KeyError, ValueError, EOFError):
        return None
    if ref["features"].ndim != 2 or ref["features"].shape[0] != n or ref["labels"].shape != (n,):
        return None
    return ref


def save(path: Path, ref: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, features=ref["features"], labels=ref["labels"],
             **{f"floor_{k}": np.float64(ref["floor"][k]) for k in _FLOOR_KEYS})
    try:
        write_bytes_atomic(path, buffer.getvalue())
    except (OutputError, OSError):
        pass  # a cache that cannot be written only costs time
