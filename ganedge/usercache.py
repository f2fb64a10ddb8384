"""Small JSON facts cached per user: measurements worth keeping across processes.

What goes here is a pure function of its key (a model's sha256, the CPU model, runtime versions,
thread count, ...), so an entry is never stale, only unused. Location: ``$GANEDGE_CACHE_DIR``, else
``$XDG_CACHE_HOME/ganedge``, else ``~/.cache/ganedge``; one folder per kind of fact. Entries are
written atomically (temp file + rename), so concurrent processes at worst measure twice. A cache
that cannot be read or written is not an error: the fact is measured again and the reason logged.

Model hashes are cached too (keyed by path, size, mtime and inode), so that a warm lookup for a
32 MB model costs a ``stat`` instead of reading the file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from ganedge.errors import OutputError
from ganedge.fsutil import write_text_atomic

log = logging.getLogger("ganedge")


def cache_root() -> Path:
    env = os.environ.get("GANEDGE_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "ganedge"


def entry_path(kind: str, key: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:32]
    return cache_root() / kind / f"{digest}.json"


def read(kind: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """The value stored under ``key``, or None (absent, unreadable, or written for another key)."""
    path = entry_path(kind, key)
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.debug("ganedge: ignoring unreadable cache entry %s (%s)", path, exc)
        return None
    if not isinstance(entry, dict) or entry.get("key") != json.loads(json.dumps(key, default=str)):
        return None  # a hash collision or a hand-edited file: measure again
    value = entry.get("value")
    return value if isinstance(value, dict) else None


def write(kind: str, key: dict[str, Any], value: dict[str, Any]) -> Path | None:
    """Store ``value`` under ``key``; returns the file, or None when the cache is not writable."""
    path = entry_path(kind, key)
    try:
        write_text_atomic(path, json.dumps({"key": key, "value": value}, indent=1, sort_keys=True, default=str))
    except OutputError as exc:
        log.info("ganedge: not caching %s (%s)", kind, exc)
        return None
    return path


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, remembered per (real path, size, mtime, inode) so a second call only stats it."""
    real = Path(path).resolve()
    stat = real.stat()
    key = {"path": str(real), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino}
    known = read("sha256", key)
    if known and isinstance(known.get("sha256"), str):
        return known["sha256"]
    digest = hashlib.sha256()
    with open(real, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    write("sha256", key, {"sha256": digest.hexdigest()})
    return digest.hexdigest()
