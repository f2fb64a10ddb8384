"""Tiny real models for the generate tests, exported once per session, and readers of its output.

The models come from the examples' helpers (16x16 DCGANs, width 8, last layer scaled so seeds
give visibly different images). The conditional one carries ``class_names`` in its manifest,
as manifests may, so names reach folder names, per-image JSON and ``--labels NAME``.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from tests.examples.example_helpers import build_run, decode_png, export

CLASS_NAMES = ["cat", "dog", "bird/plane", "fish", "ant"]  # "/" must not reach a folder name


def add_class_names(path: Path, names: list[str]) -> Path:
    """Write ``class_names`` into an ONNX file's ganedge manifest (metadata_props)."""
    import onnx

    from ganedge.artifacts.manifest import ONNX_METADATA_KEY

    model = onnx.load(str(path))
    for entry in model.metadata_props:
        if entry.key == ONNX_METADATA_KEY:
            manifest = json.loads(entry.value)
            manifest["class_names"] = names
            entry.value = json.dumps(manifest)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="session")
def uncond_onnx(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("gen-uncond")
    return export(build_run(root / "run"), root / "uncond16.onnx")


@pytest.fixture(scope="session")
def cond_onnx(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("gen-cond")
    path = export(build_run(root / "run", num_classes=len(CLASS_NAMES)), root / "cond16.onnx")
    return add_class_names(path, CLASS_NAMES)


@pytest.fixture(scope="session")
def uncond_ref(uncond_onnx):
    from ganedge import sdk

    with sdk.load(uncond_onnx, device="cpu", threads=1) as g:
        yield g


@pytest.fixture(scope="session")
def cond_ref(cond_onnx):
    from ganedge import sdk

    with sdk.load(cond_onnx, device="cpu", threads=1) as g:
        yield g


def writer_pids(out: Path) -> list[int]:
    """Pids of processes writing a shard right now, from their temporaries' names
    (``.000003.tar.<pid>.<random>.tmp``, staging folders ``.000003.<pid>.<random>.tmp``)."""
    if not out.is_dir():
        return []
    parts = [p.name.split(".") for p in out.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]
    return [int(name[-3]) for name in parts if len(name) >= 5 and name[-3].isdigit()]


def tar_samples(path: Path) -> list[dict]:
    """[{key, png (decoded), json, cls}] of a WebDataset tar, read with plain tarfile, in order."""
    samples: dict[str, dict] = {}
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            key, _, ext = member.name.partition(".")
            data = tar.extractfile(member).read()
            sample = samples.setdefault(key, {"key": key})
            sample[ext] = decode_png(data) if ext == "png" else json.loads(data) if ext == "json" else data.decode()
    return list(samples.values())


def written_seeds(out: Path) -> list[int]:
    """Every seed present in OUT's complete shards (per their markers), duplicates kept."""
    index = json.loads((out / "index.json").read_text())
    seeds: list[int] = []
    for shard in index["shards"]:
        for rel in shard["files"]:
            path = out / rel
            if index["format"] == "webdataset":
                seeds += [s["json"]["seed"] for s in tar_samples(path)]
            elif index["format"] == "npz":
                with np.load(path) as data:
                    seeds += data["seeds"].tolist()
            else:
                seeds += [int(p.stem) for p in path.iterdir()]
    return seeds


def all_images_on_disk(out: Path, fmt: str) -> list[int]:
    """Seeds of every image file a reader globbing OUT would find (ignoring markers)."""
    if fmt == "webdataset":
        return [s["json"]["seed"] for tar in sorted(out.glob("[0-9]*.tar")) for s in tar_samples(tar)]
    if fmt == "npz":
        seeds = []
        for path in sorted(out.glob("[0-9]*.npz")):
            with np.load(path) as data:
                seeds += data["seeds"].tolist()
        return seeds
    return [int(p.stem) for p in out.glob("*/[0-9]*/*.png") if not p.parts[-3].startswith(".")]
