"""A conditional run on a folder of class sub-folders records their names, and they reach the manifest and the SDK."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ganedge import sdk
from ganedge.artifacts.run_dir import read_config
from tests.train.helpers import run_cli

ARGS = ["--image-size", "16", "--arch", "dcgan", "--g-width", "4", "--d-width", "4", "--latent-dim", "16",
        "--batch-size", "8", "--threads", "1"]


def test_folder_class_names_travel_from_training_to_sampling(tmp_path):
    data = tmp_path / "pets"
    rng = np.random.default_rng(0)
    for name in ("owl", "cat", "dog"):
        (data / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(data / name / f"{i}.png")
    run = tmp_path / "run"
    result = run_cli("train", "--dataset", str(data), "--conditional", "--steps", "1", *ARGS, "-o", str(run))
    assert result.returncode == 0, result.stderr
    assert read_config(run).model.class_names == ("cat", "dog", "owl")  # sorted, as the labels are
    with sdk.load(run, backend="torch", device="cpu") as g:
        assert g.manifest.class_names == ("cat", "dog", "owl")
        np.testing.assert_array_equal(g.sample(2, labels="owl"), g.sample(2, labels=2))


def test_unconditional_runs_record_no_class_names(tmp_path):
    data = tmp_path / "pets"
    for name in ("a", "b"):
        (data / name).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.full((16, 16, 3), 40 * i, np.uint8)).save(data / name / f"{i}.png")
    run = tmp_path / "run"
    assert run_cli("train", "--dataset", str(data), "--steps", "1", *ARGS, "-o", str(run)).returncode == 0
    assert read_config(run).model.class_names is None


def test_the_python_api_fills_in_the_dataset_class_names(tmp_path):
    from ganedge.data import load_dataset
    from ganedge.train.loop import train
    from tests.train.helpers import tiny_config

    data = tmp_path / "shapes"
    for name in ("square", "disc"):
        (data / name).mkdir(parents=True)
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(data / name / "0.png")
    config = tiny_config(num_classes=2, steps=0)
    assert config.model.class_names is None
    train(config, tmp_path / "run", dataset=load_dataset(data, image_size=16), quiet=True, device="cpu", threads=1)
    assert read_config(tmp_path / "run").model.class_names == ("disc", "square")
