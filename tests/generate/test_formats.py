"""The three formats, read back the way their users read them: tarfile and the webdataset
library, ImageFolder's layout rule and ``ganedge train``'s folder reader, numpy and
``ganedge train``'s npz reader; every image equals the SDK's image for its seed and label."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.examples.example_helpers import decode_png
from tests.generate.conftest import CLASS_NAMES, tar_samples, written_seeds


def run_job(cli, model: Path, out: Path, *args) -> dict:
    result = cli("generate", model, "-o", out, "--json", *args)
    assert result.code == 0, result
    return result.json()


def test_webdataset_shards_read_with_tarfile(cli, cond_onnx, cond_ref, tmp_path):
    out = tmp_path / "wds"
    report = run_job(cli, cond_onnx, out, "--count", 23, "--shard-size", 10, "--workers", 1, "--batch-size", 4)
    assert report["shards"] == 3 and report["images_rendered"] == 23
    index = json.loads((out / "index.json").read_text())
    assert [c["count"] for c in index["classes"]] == [5, 5, 5, 4, 4]  # balanced: at most 1 apart
    assert [c["name"] for c in index["classes"]] == CLASS_NAMES and index["totals"]["images"] == 23
    seeds, labels, images = [], [], []
    for shard in index["shards"]:
        samples = tar_samples(out / shard["files"][0])
        assert [s["key"] for s in samples] == [f"{seed:06d}" for seed in range(shard["first_seed"],
                                                                                shard["first_seed"] + shard["count"])]
        marker = json.loads((out / f"{shard['index']:06d}.json").read_text())
        for sample, label in zip(samples, marker["labels"]):
            assert sample["json"] == {"seed": int(sample["key"]), "label": label, "class_name": CLASS_NAMES[label]}
            assert sample["cls"] == str(label)
            seeds.append(sample["json"]["seed"])
            labels.append(label)
            images.append(sample["png"])
    assert seeds == list(range(23))
    assert np.array_equal(np.stack(images), cond_ref.sample_seeds(seeds, labels=labels))


# webdataset 1.0 leaves closing its tar file handles to the garbage collector (a ResourceWarning
# raised in a finalizer, which pytest reports as unraisable); only those are ignored here.
@pytest.mark.filterwarnings(r"ignore:Exception ignored in. <_io.FileIO name='[^']*\.tar':"
                            "pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings(r"ignore:unclosed file <_io.BufferedReader name='[^']*\.tar'>:ResourceWarning")
def test_webdataset_library_reads_the_shards(cli, cond_onnx, cond_ref, tmp_path):
    import webdataset as wds

    out = tmp_path / "wds"
    run_job(cli, cond_onnx, out, "--count", 12, "--shard-size", 5, "--workers", 1, "--labels", "dog")
    urls = [str(out / name) for name in ("000000.tar", "000001.tar", "000002.tar")]
    dataset = wds.WebDataset(urls, shardshuffle=False).decode("rgb8").to_tuple("png", "json", "cls")
    rows = list(dataset)
    assert [meta["seed"] for _, meta, _ in rows] == list(range(12))
    assert {int(cls) for _, _, cls in rows} == {1}
    assert np.array_equal(np.stack([png for png, _, _ in rows]), cond_ref.sample_seeds(range(12), labels=1))


def image_folder_samples(root: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    """torchvision ImageFolder's rule, written out (torchvision is not installed): classes are the
    sorted sub-folder names of root, indices in that order, images found by walking each one."""
    classes = sorted(entry.name for entry in os.scandir(root) if entry.is_dir())
    samples = []
    for index, name in enumerate(classes):
        for folder, _, files in sorted(os.walk(root / name, followlinks=True)):
            samples += [(Path(folder) / f, index) for f in sorted(files) if f.lower().endswith(".png")]
    return classes, samples


def test_folder_format_reads_back_as_imagefolder_and_for_training(cli, cond_onnx, cond_ref, tmp_path):
    from ganedge.data.files import load_folder

    out = tmp_path / "folder"
    counts = tmp_path / "counts.json"
    counts.write_text(json.dumps({"cat": 4, "bird/plane": 3, "ant": 2}))  # dog and fish: none
    run_job(cli, cond_onnx, out, "--labels", counts, "--format", "folder", "--shard-size", 4, "--workers", 1)
    classes, samples = image_folder_samples(out)
    assert classes == ["0-cat", "2-bird_plane", "4-ant"]  # a class with no images has no folder
    by_folder = {c["folder"]: c["id"] for c in json.loads((out / "index.json").read_text())["classes"]}
    seeds = [int(path.stem) for path, _ in samples]
    labels = [by_folder[classes[index]] for _, index in samples]
    assert sorted(seeds) == list(range(9)) and np.bincount(labels).tolist() == [4, 0, 3, 0, 2]
    assert all(path.parent.name in {"000000", "000001", "000002"} for path, _ in samples)
    expected = cond_ref.sample_seeds(seeds, labels=labels)
    assert all(np.array_equal(decode_png(p.read_bytes()), expected[i]) for i, (p, _) in enumerate(samples))

    dataset = load_folder(out, 16, None)  # what `ganedge train --dataset OUT` reads
    assert len(dataset) == 9 and dataset.num_classes == 3
    assert sorted(np.bincount(dataset.labels).tolist()) == [2, 3, 4]


def test_unconditional_folder_is_one_class(cli, uncond_onnx, tmp_path):
    from ganedge.data.files import load_folder

    out = tmp_path / "folder"
    run_job(cli, uncond_onnx, out, "--count", 7, "--format", "folder", "--shard-size", 3, "--workers", 1)
    classes, samples = image_folder_samples(out)
    assert classes == ["images"] and len(samples) == 7
    dataset = load_folder(out, 16, None)
    assert len(dataset) == 7 and dataset.num_classes == 0  # one folder: unlabelled, as for any dataset


def test_npz_shards(cli, cond_onnx, cond_ref, tmp_path):
    from ganedge.data.files import load_npz

    out = tmp_path / "npz"
    run_job(cli, cond_onnx, out, "--count", 11, "--format", "npz", "--shard-size", 6, "--truncation", 0.5,
            "--seed", 1000, "--workers", 1, "--batch-size", 4)
    with np.load(out / "000001.npz", allow_pickle=False) as data:
        assert sorted(data.files) == ["images", "labels", "seeds"]
        assert data["seeds"].tolist() == list(range(1006, 1011))
        assert data["images"].dtype == np.uint8 and data["images"].shape == (5, 16, 16, 3)
        expected = cond_ref.sample_seeds(data["seeds"], labels=data["labels"], truncation=0.5)
        assert np.array_equal(data["images"], expected)
        labels = data["labels"].tolist()
    dataset = load_npz(out / "000001.npz", 16, None)  # `ganedge train --dataset 000001.npz`
    assert dataset.labels.tolist() == labels
    assert sorted(written_seeds(out)) == list(range(1000, 1011))


def test_local_workers_write_the_same_bytes_as_one_process(cli, uncond_onnx, tmp_path):
    one = run_job(cli, uncond_onnx, tmp_path / "one", "--count", 40, "--shard-size", 10, "--workers", 1)
    two = run_job(cli, uncond_onnx, tmp_path / "two", "--count", 40, "--shard-size", 10, "--workers", 2)
    shas = [[s["sha256"] for s in json.loads((tmp_path / name / "index.json").read_text())["shards"]]
            for name in ("one", "two")]
    assert shas[0] == shas[1] and len(set(shas[0])) == 4
    assert one["executor"] == two["executor"] == "local" and two["workers"] == 2
    stats = two["worker_stats"]
    assert len(stats) == 2 and len({s["pid"] for s in stats}) == 2 and os.getpid() not in {s["pid"] for s in stats}
    assert sum(s["images"] for s in stats) == 40
    assert not any(s["torch_imported"] for s in stats)  # an ONNX model never pulls in torch
    assert all(s["peak_rss_mb"] > 10 and s["threads"] == 1 for s in stats)
