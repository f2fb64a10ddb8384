"""Shard writers: WebDataset tar, a folder of PNGs in per-class sub-folders, or npz arrays.

Each writer takes batches (``add``) and makes the shard visible in one step (``commit``), then
writes the shard's marker ``OUT/NNNNNN.json`` (its index of seeds and labels, and a checksum).
Until ``commit`` everything lives under a hidden temporary name in OUT that carries the
writer's pid (``.000003.tar.<pid>.<random>.tmp``); a killed writer leaves only such names, which
the next run removes. Memory stays bounded by one batch: images are encoded and written as
they arrive, never collected per shard.

Visibility. tar and npz: the file appears by one rename, complete, or not at all. folder: a
shard spans one sub-folder per class, and no single rename can publish several folders, so
the staging folder's class folders are renamed into place one by one and the marker is
written last: a folder shard *is complete when its marker exists*. ``index.json`` (written
when every shard is complete) lists only complete shards, and a resumed run deletes any
shard folders without a valid marker before it renders that shard again.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import json
import os
import secrets
import shutil
import socket
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ganedge.fsutil import fsync_path, write_text_atomic
from ganedge.generate.plan import Plan, Shard
from ganedge.generate.png import encode_pngs
from ganedge.generate.tarstream import TarStream

SHARD_FORMAT = "ganedge-generate-shard/1"
SUFFIX = {"webdataset": ".tar", "npz": ".npz"}


def image_key(seed: int) -> str:
    """File stem of one image: the seed, zero-padded to 6 digits (``000042``), as ``ganedge sample``."""
    return f"{seed:06d}"


def marker_path(out: Path, shard: Shard) -> Path:
    return out / f"{shard.name}.json"


def shard_paths(plan: Plan, shard: Shard) -> list[str]:
    """Every path (relative to OUT) a shard may occupy besides its marker: its file, or for the
    folder format one sub-folder per class (those holding none of its images stay absent)."""
    if plan.format == "folder":
        return [f"{folder}/{shard.name}" for folder in plan.folders]
    return [shard.name + SUFFIX[plan.format]]


def plan_id(plan: Plan) -> str:
    """sha256 of the plan's identity: a marker from another job never passes as one of ours."""
    return hashlib.sha256(json.dumps(plan.identity(), sort_keys=True).encode()).hexdigest()


def temp_path(out: Path, final_name: str) -> Path:
    return out / f".{final_name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"


# Every tar and zip member carries this timestamp (1980-01-01T00:00:00Z, the earliest a zip can
# hold), never the clock: a shard is a pure function of its plan's identity, so two jobs of the
# same plan started at different times write the same bytes (and resume never sees a mismatch).
MEMBER_EPOCH = 315532800
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def zip_member(name: str) -> zipfile.ZipInfo:
    """A stored (uncompressed) zip entry dated MEMBER_EPOCH, readable (0644) once extracted."""
    info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def sha256_path(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def tree_digest(entries: list[tuple[str, str]]) -> str:
    """Checksum of a folder shard: sha256 over ``relpath NUL sha256(file) LF``, sorted by path."""
    digest = hashlib.sha256()
    for rel, file_sha in sorted(entries):
        digest.update(f"{rel}\0{file_sha}\n".encode())
    return digest.hexdigest()


def sync_filesystem(folder: Path) -> None:
    """Flush everything written under ``folder`` in one call: one fsync per small PNG costs
    milliseconds each, syncfs(2) one flush per shard. Falls back to sync(2) off Linux."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(folder, os.O_RDONLY)
        try:
            if libc.syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    except (OSError, AttributeError):
        pass
    os.sync()


class ShardWriter:
    """Base: bookkeeping shared by the formats; subclasses write bytes."""

    def __init__(self, plan: Plan, shard: Shard, out: Path):
        self.plan, self.shard, self.out = plan, shard, out
        self.seeds_written = 0
        self.labels: list[int] = []
        self.started = time.perf_counter()

    def add(self, seeds: np.ndarray, labels: np.ndarray | None, images: np.ndarray) -> None:
        expected = self.shard.first_seed + self.seeds_written
        assert int(seeds[0]) == expected and len(seeds) == len(images), "batches must arrive in seed order"
        self._write(seeds, labels, images)
        self.seeds_written += len(seeds)
        if labels is not None:
            self.labels.extend(int(v) for v in labels)

    def commit(self, rendered_by: dict[str, Any]) -> dict[str, Any]:
        """Publish the shard, then its marker; returns the marker's content."""
        assert self.seeds_written == self.shard.count, f"shard {self.shard.name} is short"
        checksum, size, files = self._publish()
        record = {"format_version": SHARD_FORMAT, "plan_id": plan_id(self.plan), "shard": self.shard.index,
                  "format": self.plan.format, "files": files,
                  "first_seed": self.shard.first_seed, "count": self.shard.count,
                  "labels": self.labels if self.plan.num_classes else None,
                  "class_counts": self._class_counts(), "sha256": checksum, "bytes": size,
                  "seconds": round(time.perf_counter() - self.started, 3),
                  "rendered_by": {"host": socket.gethostname(), "pid": os.getpid(), **rendered_by}}
        write_text_atomic(marker_path(self.out, self.shard), json.dumps(record) + "\n")
        return record

    def _class_counts(self) -> list[int] | None:
        if not self.plan.num_classes:
            return None
        return np.bincount(np.array(self.labels, dtype=np.int64), minlength=self.plan.num_classes).tolist()

    def _sample_meta(self, seed: int, label: int | None) -> dict[str, Any]:
        meta: dict[str, Any] = {"seed": seed}
        if label is not None:
            meta["label"] = label
            if self.plan.class_names:
                meta["class_name"] = self.plan.class_names[label]
        if self.plan.truncation != 1.0:
            meta["truncation"] = self.plan.truncation
        return meta

    def _write(self, seeds, labels, images) -> None:
        raise NotImplementedError

    def _publish(self) -> tuple[str, int, list[str]]:
        """Make the shard's files visible; (checksum, bytes, paths relative to OUT)."""
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError


class TarWriter(ShardWriter):
    """WebDataset: ``<key>.png``, ``<key>.json`` ({seed, label, class_name}) and, for conditional
    models, ``<key>.cls`` (the label as text, webdataset's convention), consecutive per image."""

    def __init__(self, plan: Plan, shard: Shard, out: Path):
        super().__init__(plan, shard, out)
        self.final = out / (shard.name + ".tar")
        self.temp = temp_path(out, self.final.name)
        self.handle = open(self.temp, "wb")
        self.tar = TarStream(self.handle, mtime=MEMBER_EPOCH)
        self._meta_tails: dict[int | None, bytes] = {}

    def _write(self, seeds, labels, images) -> None:
        # One write per batch, and each image's JSON from a per-label template: at 16x16 the
        # per-member Python work is a tenth of the image's cost, so it is kept to string formatting.
        members = []
        for i, (seed, png) in enumerate(zip(seeds.tolist(), encode_pngs(images))):
            key = image_key(seed)
            label = None if labels is None else int(labels[i])
            members.append((f"{key}.png", png))
            members.append((f"{key}.json", self._meta_json(seed, label)))
            if label is not None:
                members.append((f"{key}.cls", b"%d" % label))
        self.tar.add_many(members)

    def _meta_json(self, seed: int, label: int | None) -> bytes:
        """``json.dumps(self._sample_meta(seed, label))``, byte for byte, without building a dict."""
        tail = self._meta_tails.get(label)
        if tail is None:
            probe = json.dumps(self._sample_meta(0, label))  # '{"seed": 0' + tail
            tail = self._meta_tails[label] = probe[len('{"seed": 0'):].encode()
        return b'{"seed": %d%s' % (seed, tail)

    def _publish(self) -> tuple[str, int, list[str]]:
        self.tar.close()
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.chmod(self.temp, 0o644)
        checksum, size = self.tar.sha256.hexdigest(), self.tar.offset
        os.replace(self.temp, self.final)
        fsync_path(self.out)
        return checksum, size, [self.final.name]

    def abort(self) -> None:
        try:
            self.handle.close()
        except OSError:
            pass
        self.temp.unlink(missing_ok=True)


class NpzWriter(ShardWriter):
    """``images`` uint8 (n, H, W, C), ``seeds`` int64 (n,), and ``labels`` int64 (n,) for conditional
    models: the keys ``ganedge train --dataset FILE.npz`` reads. images.npy is streamed into the zip."""

    def __init__(self, plan: Plan, shard: Shard, out: Path):
        super().__init__(plan, shard, out)
        self.final = out / (shard.name + ".npz")
        self.temp = temp_path(out, self.final.name)
        self.zip = zipfile.ZipFile(self.temp, "w", compression=zipfile.ZIP_STORED, allowZip64=True)
        self.entry = None

    def _write(self, seeds, labels, images) -> None:
        if self.entry is None:
            self.entry = self.zip.open(zip_member("images.npy"), "w", force_zip64=True)
            header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)), "fortran_order": False,
                      "shape": (self.shard.count, *images.shape[1:])}
            np.lib.format.write_array_header_1_0(self.entry, header)
        self.entry.write(np.ascontiguousarray(images, dtype=np.uint8).tobytes())

    @staticmethod
    def _npy(array: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, array, allow_pickle=False)
        return buffer.getvalue()

    def _publish(self) -> tuple[str, int, list[str]]:
        self.entry.close()
        seeds = np.arange(self.shard.first_seed, self.shard.first_seed + self.shard.count, dtype=np.int64)
        self.zip.writestr(zip_member("seeds.npy"), self._npy(seeds))
        if self.plan.num_classes:
            self.zip.writestr(zip_member("labels.npy"), self._npy(np.array(self.labels, dtype=np.int64)))
        self.zip.close()
        fsync_path(self.temp)
        os.chmod(self.temp, 0o644)
        checksum, size = sha256_path(self.temp), self.temp.stat().st_size
        os.replace(self.temp, self.final)
        fsync_path(self.out)
        return checksum, size, [self.final.name]

    def abort(self) -> None:
        for closer in ((self.entry.close if self.entry else None), self.zip.close):
            try:
                if closer:
                    closer()
            except (OSError, ValueError, RuntimeError):
                pass
        self.temp.unlink(missing_ok=True)


class FolderWriter(ShardWriter):
    """``OUT/<class folder>/<shard>/<key>.png``; staged in a hidden folder, then renamed into place."""

    def __init__(self, plan: Plan, shard: Shard, out: Path):
        super().__init__(plan, shard, out)
        self.staging = temp_path(out, shard.name)
        self.staging.mkdir()
        self.entries: list[tuple[str, str]] = []  # (path relative to OUT, sha256)
        self.bytes = 0
        self.made: set[str] = set()

    def _write(self, seeds, labels, images) -> None:
        for i, (seed, data) in enumerate(zip(seeds.tolist(), encode_pngs(images))):
            folder = self.plan.folders[int(labels[i]) if labels is not None else 0]
            target = self.staging / folder
            if folder not in self.made:
                target.mkdir()
                self.made.add(folder)
            name = f"{image_key(seed)}.png"
            with open(target / name, "wb") as handle:
                handle.write(data)
            self.entries.append((f"{folder}/{self.shard.name}/{name}", hashlib.sha256(data).hexdigest()))
            self.bytes += len(data)

    def _publish(self) -> tuple[str, int, list[str]]:
        sync_filesystem(self.staging)
        files = []
        for staged in sorted(self.staging.iterdir()):
            parent = self.out / staged.name
            parent.mkdir(exist_ok=True)
            target = parent / self.shard.name
            if target.exists():  # left by a run killed between these renames and its marker
                shutil.rmtree(target)
            os.rename(staged, target)
            fsync_path(parent)
            files.append(f"{staged.name}/{self.shard.name}")
        self.staging.rmdir()
        fsync_path(self.out)
        return tree_digest(self.entries), self.bytes, files

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


WRITERS = {"webdataset": TarWriter, "npz": NpzWriter, "folder": FolderWriter}


def open_writer(plan: Plan, shard: Shard, out: Path) -> ShardWriter:
    return WRITERS[plan.format](plan, shard, out)
