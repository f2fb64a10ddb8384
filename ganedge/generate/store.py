"""The output folder of a generate job: its lock, its leftovers, its shards' state and index.json.

A shard counts as complete only if its marker ``NNNNNN.json`` exists, belongs to this plan,
lists exactly the seeds and labels the plan gives that shard, and its files match the
marker's checksum. Everything else a killed run can leave (hidden ``*.tmp`` files and staging
folders, a renamed tar or class folder whose marker was never written, a damaged file) is
removed before the shard is rendered again, so every seed ends up written exactly once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ganedge.errors import BadInputError
from ganedge.fsutil import write_text_atomic
from ganedge.generate.plan import INDEX_FILE, PLAN_FILE, Plan, Shard
from ganedge.generate.writers import (SHARD_FORMAT, image_key, marker_path, plan_id, sha256_path, shard_paths,
                                      tree_digest)

LOCK_FILE = ".ganedge-generate.lock"
INDEX_FORMAT = "ganedge-generate-index/1"


class OutputLock:
    """An exclusive flock on ``OUT/.ganedge-generate.lock`` for the whole run: two runs writing
    one folder would each see the other's shards as incomplete. The kernel drops it if we die."""

    def __init__(self, out: Path):
        self.path = out / LOCK_FILE
        self.handle = None

    def __enter__(self) -> "OutputLock":
        import fcntl

        self.handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "?"
            self.handle.close()
            raise BadInputError(f"{self.path.parent} is being written by another ganedge generate (pid {holder}); "
                                "wait for it to finish or choose another -o") from None
        except OSError:  # a filesystem without flock (some network mounts): run unguarded, as before locks
            return self
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(f"{os.getpid()}\n")
        self.handle.flush()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.handle is not None:
            self.handle.close()  # closing releases the flock; the file stays (unlinking it would race)


def is_temporary(name: str) -> bool:
    """Our hidden leftovers: ``.000003.tar.<pid>.<random>.tmp``, staging folders, fsutil temps."""
    return name.startswith(".") and name.endswith(".tmp")


def check_fresh(out: Path) -> None:
    """OUT must be empty (apart from our own lock and temporaries) when it holds no plan.json."""
    others = sorted(p.name for p in out.iterdir() if p.name != LOCK_FILE and not is_temporary(p.name))
    if others:
        shown = ", ".join(others[:3]) + (" ..." if len(others) > 3 else "")
        raise BadInputError(f"{out} is not empty ({shown}) and holds no {PLAN_FILE}; generate into a new or empty folder")


def clean_temporaries(out: Path) -> int:
    """Remove what killed writers left: hidden ``*.tmp`` files and staging folders in OUT."""
    removed = 0
    for path in out.iterdir():
        if is_temporary(path.name):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed += 1
    return removed


def remove_shard(plan: Plan, shard: Shard, out: Path) -> None:
    """Delete every trace of a shard: its marker first (so it stops counting), then its files."""
    marker_path(out, shard).unlink(missing_ok=True)
    for rel in shard_paths(plan, shard):
        path = out / rel
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def _present(plan: Plan, shard: Shard, out: Path) -> bool:
    return marker_path(out, shard).exists() or any((out / rel).exists() for rel in shard_paths(plan, shard))


def _folder_problem(plan: Plan, shard: Shard, out: Path, record: dict[str, Any]) -> str | None:
    labels = record["labels"]
    expected: dict[str, str] = {}  # path relative to OUT -> its class folder
    for i, seed in enumerate(shard.seeds):
        folder = plan.folders[labels[i] if labels is not None else 0]
        expected[f"{folder}/{shard.name}/{image_key(seed)}.png"] = f"{folder}/{shard.name}"
    if sorted(set(expected.values())) != sorted(record["files"]):
        return "its class folders differ from its labels"
    found: list[tuple[str, str]] = []
    for rel in shard_paths(plan, shard):
        folder = out / rel
        if not folder.is_dir():
            if rel in record["files"]:
                return f"{rel} is missing"
            continue
        for path in folder.iterdir():
            name = f"{rel}/{path.name}"
            if name not in expected or not path.is_file():
                return f"{name} does not belong to it"
            found.append((name, sha256_path(path)))
    if len(found) != len(expected):
        return f"it holds {len(found)} of its {len(expected)} images"
    return None if tree_digest(found) == record["sha256"] else "its checksum does not match"


def shard_problem(plan: Plan, shard: Shard, out: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(marker record, None) for a complete shard, else (None, what is wrong with it)."""
    path = marker_path(out, shard)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, "not written"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None, "its marker is unreadable"
    labels = plan.labels.labels(shard.start, shard.start + shard.count)
    want = {"format_version": SHARD_FORMAT, "plan_id": plan_id(plan), "shard": shard.index, "format": plan.format,
            "first_seed": shard.first_seed, "count": shard.count, "labels": None if labels is None else labels.tolist()}
    if not isinstance(record, dict) or any(record.get(k) != v for k, v in want.items()):
        return None, "its marker does not match the plan"
    if plan.format == "folder":
        problem = _folder_problem(plan, shard, out, record)
        return (None, problem) if problem else (record, None)
    file = out / shard_paths(plan, shard)[0]
    if record.get("files") != [file.name] or not file.is_file():
        return None, f"{file.name} is missing"
    if sha256_path(file) != record.get("sha256"):
        return None, f"{file.name} does not match its checksum"
    return record, None


def scan(plan: Plan, out: Path, threads: int = 4) -> tuple[dict[int, dict[str, Any]], list[tuple[Shard, str]]]:
    """(complete shard records by index, [(shard, problem)] of damaged ones). Damaged and partly
    written shards are deleted here; shards never started are in neither list."""
    candidates = [s for s in plan.shards if _present(plan, s, out)]
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:  # hashing releases the GIL
        results = list(pool.map(lambda s: shard_problem(plan, s, out), candidates))
    complete: dict[int, dict[str, Any]] = {}
    damaged: list[tuple[Shard, str]] = []
    for shard, (record, problem) in zip(candidates, results):
        if record is not None:
            complete[shard.index] = record
            continue
        if problem != "not written" or marker_path(out, shard).exists():
            damaged.append((shard, problem))
        remove_shard(plan, shard, out)  # a file or folders without a marker: a run died before its marker
    return complete, damaged


def build_index(plan: Plan, records: dict[int, dict[str, Any]]) -> dict[str, Any]:
    shards, totals_bytes = [], 0
    class_counts = [0] * max(1, plan.num_classes)
    for shard in plan.shards:
        record = records[shard.index]
        shards.append({"index": shard.index, "files": record["files"], "first_seed": shard.first_seed,
                       "count": shard.count, "sha256": record["sha256"], "bytes": record["bytes"],
                       "class_counts": record["class_counts"]})
        totals_bytes += record["bytes"]
        for k, n in enumerate(record["class_counts"] or [shard.count]):
            class_counts[k] += n
    classes = [{**entry, "count": class_counts[i]} for i, entry in enumerate(plan.classes())]
    assert sum(class_counts) == plan.count, "shards do not add up to the plan"
    return {"format_version": INDEX_FORMAT, "plan_id": plan_id(plan), "model": plan.model,
            "model_sha256": plan.model_sha256, "format": plan.format, "count": plan.count, "seed": plan.seed,
            "seeds": [plan.seed, plan.seed + plan.count - 1], "shard_size": plan.shard_size,
            "truncation": plan.truncation, "labels": plan.labels.mode, "classes": classes, "shards": shards,
            "totals": {"images": plan.count, "shards": len(shards), "bytes": totals_bytes}}


def write_index(plan: Plan, records: dict[int, dict[str, Any]], out: Path) -> dict[str, Any]:
    index = build_index(plan, records)
    write_text_atomic(out / INDEX_FILE, json.dumps(index, indent=1) + "\n")
    return index


def plan_digest_matches(out: Path, plan: Plan) -> bool:
    """True when OUT/plan.json is this plan (workers on other machines check they see the same OUT)."""
    try:
        stored = Plan.read(out / PLAN_FILE)
    except BadInputError:
        return False
    return hashlib.sha256(json.dumps(stored.identity(), sort_keys=True).encode()).hexdigest() == plan_id(plan)
