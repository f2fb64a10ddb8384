"""Shard bytes are a pure function of the plan's identity: the job's start time (``created``) and
the clock never reach them, in any format."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tarfile
import zipfile

import numpy as np
import pytest

from ganedge.artifacts.manifest import Manifest
from ganedge.generate.labels import LabelPlan, balanced_counts
from ganedge.generate.plan import Plan
from ganedge.generate.writers import MEMBER_EPOCH, open_writer


def write_shard(plan: Plan, out) -> dict:
    shard = plan.shards[0]
    seeds = np.arange(shard.first_seed, shard.first_seed + shard.count, dtype=np.uint64)
    images = np.random.default_rng(7).integers(0, 256, (shard.count, 8, 8, 3), dtype=np.uint8)
    labels = plan.labels.labels(0, shard.count)
    out.mkdir(parents=True)
    writer = open_writer(plan, shard, out)
    writer.add(seeds, labels, images)
    return writer.commit({"backend": "test"})


@pytest.mark.parametrize("fmt", ["webdataset", "npz", "folder"])
def test_two_jobs_a_day_apart_write_the_same_bytes(fmt, tmp_path):
    manifest = Manifest(arch="dcgan", latent_dim=4, image_shape=(3, 8, 8), num_classes=2).to_dict()
    plan = Plan(model="m.onnx", model_sha256="cd" * 32, manifest=manifest, count=6, seed=50, shard_size=6,
                truncation=1.0, format=fmt, labels=LabelPlan("balanced", 2, balanced_counts(6, 2)), created=1_700_000_000)
    later = dataclasses.replace(plan, created=plan.created + 86_400)
    first, second = write_shard(plan, tmp_path / "a"), write_shard(later, tmp_path / "b")
    assert first["sha256"] == second["sha256"] and first["bytes"] == second["bytes"]
    files = sorted(path for path in (tmp_path / "a").rglob("*") if path.is_file() and path.suffix in (".tar", ".npz"))
    for path in files:  # the marker's checksum and size are those of the file on disk
        assert first["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() and first["bytes"] == path.stat().st_size
    assert len(files) == (0 if fmt == "folder" else 1)
    if fmt == "webdataset":
        with tarfile.open(tmp_path / "a" / "000000.tar") as tar:
            assert {member.mtime for member in tar.getmembers()} == {MEMBER_EPOCH}
    elif fmt == "npz":
        with zipfile.ZipFile(tmp_path / "a" / "000000.npz") as archive:
            assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
            assert archive.namelist() == ["images.npy", "seeds.npy", "labels.npy"]
        data = np.load(tmp_path / "a" / "000000.npz")
        assert data["seeds"].tolist() == list(range(50, 56)) and data["labels"].tolist() == [0, 1, 0, 1, 0, 1]


@pytest.mark.parametrize("names,truncation", [((), 1.0), (("cat", "dög \"quoted\""), 0.7)])
def test_each_images_json_is_what_json_dumps_writes(names, truncation, tmp_path):
    manifest = Manifest(arch="dcgan", latent_dim=4, image_shape=(3, 8, 8), num_classes=2,
                        class_names=names or None).to_dict()
    plan = Plan(model="m.onnx", model_sha256="cd" * 32, manifest=manifest, count=4, seed=2**40, shard_size=4,
                truncation=truncation, format="webdataset", labels=LabelPlan("balanced", 2, balanced_counts(4, 2)))
    writer = open_writer(plan, plan.shards[0], tmp_path)
    try:
        for seed, label in [(2**40, 0), (2**40 + 1, 1), (7, None)]:
            assert writer._meta_json(seed, label) == json.dumps(writer._sample_meta(seed, label)).encode()
    finally:
        writer.abort()
