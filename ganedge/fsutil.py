"""Atomic writes of files and folders: a reader sees the old one or the complete new one, never half.

Files: :func:`atomic_path` / :func:`atomic_open` write a temporary file beside the target, fsync
it, and rename it onto the target. Folders (a checkpoint, a Triton model directory):
:func:`atomic_dir` hands out a staging folder beside the target and commits it the same way, by
one rename; replacing an existing folder takes two renames, so for a moment the target's name
may be missing, but it never names a half-written folder. Staging folders are named
``.tmp-<name>-*`` and folders on their way out ``.trash-<name>-*``, so whoever owns the parent
folder can recognise a crash's leftovers (``is_leftover``) and remove them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator

from ganedge.errors import OutputError


def ensure_writable_dir(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and check we may write into it, with a clear error if not."""
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder {path}: {exc.strerror or exc}") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {path} is not writable; choose another with -o")
    return path


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it is fsynced and renamed onto it.

    Use when a library insists on writing to a path itself (onnx.save, safetensors; ``suffix``
    for one that picks the format by extension, such as ffmpeg).
    On any exception the temporary file is removed and ``target`` is untouched.
    """
    target = Path(target)
    folder = ensure_writable_dir(target.parent if str(target.parent) else ".")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp makes 0600 files; give the result the mode a plain open() would have.
        os.chmod(tmp, 0o666 & ~_UMASK)
        fsync_path(tmp)
        os.replace(tmp, target)
        fsync_path(folder)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(target: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``target`` for writing; rename it onto ``target`` on success."""
    if mode not in ("w", "wb"):
        raise ValueError("atomic_open writes whole files: mode must be 'w' or 'wb'")
    with atomic_path(target) as tmp:
        encoding = None if "b" in mode else "utf-8"
        with open(tmp, mode, encoding=encoding) as handle:
            yield handle


def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> None:
    with atomic_open(target, "wb") as handle:
        handle.write(data)


def write_text_atomic(target: str | os.PathLike, text: str) -> None:
    with atomic_open(target, "w") as handle:
        handle.write(text)


def _read_umask() -> int:
    mask = os.umask(0)  # the only portable way to read it is to set it and restore it
    os.umask(mask)
    return mask


# Read once at import: set-and-restore is not thread-safe, so never do it while writing.
_UMASK = _read_umask()


STAGING_PREFIX = ".tmp-"
TRASH_PREFIX = ".trash-"


def is_leftover(name: str) -> bool:
    """Whether a folder entry is a staging or trash folder that a crash may have left behind."""
    return name.startswith((STAGING_PREFIX, TRASH_PREFIX))


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike, replace: bool = False, mode: int | None = None) -> Iterator[Path]:
    """Yield an empty staging folder beside ``target``; when the block succeeds, every file and
    folder in it is fsynced and it is renamed onto ``target``.

    ``replace``: an existing ``target`` is moved aside, the new folder renamed in, and the old one
    deleted (put back if the rename fails); without it an existing ``target`` is an OutputError.
    ``mode``: the committed folder's permissions (default: what ``mkdir`` gives under the umask).
    On any exception the staging folder is removed and ``target`` is untouched.
    """
    target = Path(target)
    parent = ensure_writable_dir(target.parent if str(target.parent) else ".")
    if not replace and (target.exists() or target.is_symlink()):
        raise OutputError(f"{target} already exists; choose another name or ask to replace it")
    try:
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{target.name}-", dir=parent))
    except OSError as exc:
        raise OutputError(f"cannot write into {parent}: {exc.strerror or exc}") from exc
    try:
        yield staging
        os.chmod(staging, (0o777 & ~_UMASK) if mode is None else mode)  # mkdtemp makes 0700 folders
        fsync_tree(staging)
        _rename_into_place(staging, target, replace)
        fsync_path(parent)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _rename_into_place(staging: Path, target: Path, replace: bool) -> None:
    if not replace or not (target.exists() or target.is_symlink()):
        os.rename(staging, target)  # fails (and nothing is lost) if a non-empty target appeared meanwhile
        return
    aside = Path(tempfile.mkdtemp(prefix=f"{TRASH_PREFIX}{target.name}-", dir=target.parent))
    aside.rmdir()  # only its unique name is wanted
    os.rename(target, aside)
    try:
        os.rename(staging, target)
    except OSError:
        os.rename(aside, target)  # put the old one back
        raise
    remove_tree(aside)


def remove_tree(folder: Path) -> None:
    """Delete a folder so that a crash halfway never leaves something that looks whole: it is renamed
    to a ``.trash-`` name first (unless it has one), then removed."""
    if not folder.name.startswith(TRASH_PREFIX):
        trash = Path(tempfile.mkdtemp(prefix=f"{TRASH_PREFIX}{folder.name}-", dir=folder.parent))
        trash.rmdir()
        os.rename(folder, trash)
        folder = trash
    shutil.rmtree(folder, ignore_errors=True)


def fsync_tree(folder: Path) -> None:
    """fsync every file and folder under ``folder``, deepest first, then ``folder`` itself."""
    for path in sorted(folder.rglob("*"), reverse=True):
        fsync_path(path)
    fsync_path(folder)


def fsync_path(path: Path) -> None:
    """Flush a file's data, or a folder's entries (which makes renames in it durable), to disk.
    Best effort for folders: not every platform or filesystem lets one open or fsync them."""
    is_dir = path.is_dir()
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if is_dir else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if is_dir:
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not is_dir:
            raise
    finally:
        os.close(fd)
