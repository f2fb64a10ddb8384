"""The run directory on disk, and crash-safe checkpoints.

Layout::

    RUN_DIR/config.json              RunConfig, written once when the run starts
    RUN_DIR/weights.safetensors      \
    RUN_DIR/optimizer.safetensors     > the newest checkpoint, hard links into checkpoints/
    RUN_DIR/state.json               /
    RUN_DIR/checkpoints/step-NNNNNN/ the same three files, one folder per checkpoint (newest kept)
    RUN_DIR/metrics.jsonl            one JSON line per log interval
    RUN_DIR/samples/step-NNNNNN.png  fixed-seed grids from G_ema

Why folders: a checkpoint is three files, and no sequence of single-file renames can
replace three files at once. So each checkpoint is written into a hidden temporary folder,
flushed, and committed by one ``rename`` of that folder; a SIGKILL at any moment leaves
either the complete folder or none. Every file also records its step, and ``state.json`` the
sha256 of the two tensor files, so ``--resume`` proves a checkpoint whole before using it and
falls back to the one before if it is not. The top-level copies (what ``ganedge export``
and the SDK read) are re-linked after each commit, each one atomically; ``--resume`` re-links
them from the checkpoint it continues from.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
from pathlib import Path
from typing import Any, Callable

from ganedge.errors import ArtifactError, BadInputError
from ganedge.fsutil import atomic_dir, ensure_writable_dir, fsync_path, is_leftover, remove_tree, write_text_atomic
from ganedge.artifacts.manifest import sha256_file
from ganedge.artifacts.run_dir import (CHECKPOINT_FILES, CHECKPOINTS_DIR, CONFIG_FILE, METRICS_FILE, OPTIMIZER_FILE,
                                      SAMPLES_DIR, STATE_FILE, WEIGHTS_FILE, read_state)
from ganedge.artifacts.run_config import RunConfig

_STEP_DIR = re.compile(r"^step-(\d+)$")
FAULT_ENV = "GANEDGE_FAULT_POINT"  # test hook: "<point>@<step>" makes the process SIGKILL itself there


def fault_point(name: str, step: int) -> None:
    """Crash-consistency tests kill the process at named points of a commit (see tests/train)."""
    if os.environ.get(FAULT_ENV) == f"{name}@{step}":
        os.kill(os.getpid(), signal.SIGKILL)


def step_name(step: int) -> str:
    return f"step-{step:06d}"


class RunDir:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def checkpoints(self) -> Path:
        return self.path / CHECKPOINTS_DIR

    # --- creating and reopening --------------------------------------------------------

    @classmethod
    def create(cls, path: str | Path, config: RunConfig) -> "RunDir":
        """Start a new run in ``path``, which must be missing or empty (a run is never clobbered)."""
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise BadInputError(f"run directory {path} is a file; choose another -o")
        if path.is_dir() and any(path.iterdir()):
            hint = "pass --resume to continue it" if (path / CONFIG_FILE).is_file() else "it is not a ganedge run"
            raise BadInputError(f"run directory {path} is not empty ({hint}, or choose a new -o)")
        ensure_writable_dir(path)
        run = cls(path)
        ensure_writable_dir(run.checkpoints)
        ensure_writable_dir(path / SAMPLES_DIR)
        write_text_atomic(path / CONFIG_FILE, config.to_json())
        return run

    @classmethod
    def open(cls, path: str | Path) -> "RunDir":
        path = Path(path)
        if not (path / CONFIG_FILE).is_file():
            raise BadInputError(f"--resume: {path} is not a ganedge run directory (no {CONFIG_FILE})")
        run = cls(path)
        run._remove_leftovers()
        return run

    def _remove_leftovers(self) -> None:
        """Half-written checkpoint folders and pruned ones a crash left behind."""
        if self.checkpoints.is_dir():
            for child in self.checkpoints.iterdir():
                if is_leftover(child.name):
                    shutil.rmtree(child, ignore_errors=True)
        for child in self.path.glob(".*.tmp"):
            child.unlink(missing_ok=True)

    # --- checkpoints ----------------------------------------------------------------------

    def commit_checkpoint(self, step: int, write_tensors: Callable[[Path, Path], None], state: dict[str, Any],
                          keep: int) -> Path:
        """Write weights + optimizer (via ``write_tensors(weights_path, optimizer_path)``) and state.json for
        ``step`` into a temporary folder, commit it with one rename, re-link the top-level files, prune."""
        final = self.checkpoints / step_name(step)
        if final.is_dir():  # e.g. a resumed run that ends where it started: that checkpoint is already whole
            self._publish(final, step)
            return final
        with atomic_dir(final) as tmp:  # a hidden .tmp- folder, fsynced and renamed onto ``final`` in one step
            write_tensors(tmp / WEIGHTS_FILE, tmp / OPTIMIZER_FILE)
            fault_point("after-tensors", step)
            state = dict(state, step=step, files={name: sha256_file(tmp / name) for name in (WEIGHTS_FILE, OPTIMIZER_FILE)})
            (tmp / STATE_FILE).write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
            fault_point("before-commit", step)
        fault_point("after-commit", step)
        self._publish(final, step)
        self._prune(keep)
        return final

    def _publish(self, folder: Path, step: int) -> None:
        """Point the top-level weights/optimizer/state files at ``folder``'s, each by an atomic replace."""
        for name in CHECKPOINT_FILES:
            tmp = self.path / f".{name}.tmp"
            tmp.unlink(missing_ok=True)
            try:
                os.link(folder / name, tmp)  # a hard link costs no space and no copy
            except OSError:
                shutil.copyfile(folder / name, tmp)
            os.replace(tmp, self.path / name)
            if name == WEIGHTS_FILE:
                fault_point("mid-publish", step)
        fsync_path(self.path)

    def _prune(self, keep: int) -> None:
        for folder in self.checkpoint_folders()[keep:]:
            remove_tree(folder)  # renamed out of the way first: a half-deleted folder never looks like a checkpoint

    def checkpoint_folders(self) -> list[Path]:
        """Committed checkpoint folders, newest first."""
        if not self.checkpoints.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.checkpoints.iterdir() if (m := _STEP_DIR.match(p.name)) and p.is_dir()]
        return [p for _, p in sorted(found, reverse=True)]

    def latest_checkpoint(self) -> tuple[Path, dict[str, Any]]:
        """The newest checkpoint that proves whole, with its state; re-links the top-level files to it."""
        problems = []
        for folder in self.checkpoint_folders():
            try:
                state = verify_checkpoint(folder)
            except ArtifactError as exc:
                problems.append(str(exc))
                continue
            self._publish(folder, state["step"])
            return folder, state
        detail = f" ({problems[0]})" if problems else ""
        raise BadInputError(f"--resume: {self.path} has no complete checkpoint{detail}; it stopped before its first "
                            "one. Delete it and start again")

    # --- metrics and samples --------------------------------------------------------------

    def append_metrics(self, record: dict[str, Any]) -> None:
        with open(self.path / METRICS_FILE, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")

    def truncate_metrics(self, step: int) -> None:
        """Keep the log lines up to ``step`` (a resumed run logs the later ones again); drop torn lines."""
        path = self.path / METRICS_FILE
        if not path.is_file():
            return
        kept = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and isinstance(record.get("step"), int) and record["step"] <= step:
                kept.append(line)
        write_text_atomic(path, "".join(line + "\n" for line in kept))

    def sample_path(self, step: int) -> Path:
        return self.path / SAMPLES_DIR / f"{step_name(step)}.png"


def verify_checkpoint(folder: Path) -> dict[str, Any]:
    """Check a checkpoint folder's three files belong to one step; return its state."""
    from ganedge.artifacts.run_dir import load_weights

    m = _STEP_DIR.match(folder.name)
    step = int(m.group(1)) if m else None
    state = read_state(folder / STATE_FILE)
    if state["step"] != step:
        raise ArtifactError(f"{folder}: state.json is for step {state['step']}, the folder for step {step}")
    for name, digest in state.get("files", {}).items():
        path = folder / name
        if not path.is_file() or sha256_file(path) != digest:
            raise ArtifactError(f"{path} is missing or does not match state.json")
    for name in (WEIGHTS_FILE, OPTIMIZER_FILE):
        if name not in state.get("files", {}):
            raise ArtifactError(f"{folder}: state.json does not vouch for {name}")
    _, meta = load_weights(folder / WEIGHTS_FILE)
    if meta.get("step") != step:
        raise ArtifactError(f"{folder / WEIGHTS_FILE} is for step {meta.get('step')}, not {step}")
    return state
