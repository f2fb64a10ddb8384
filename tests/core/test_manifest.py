import json

import pytest

from ganedge.errors import ArtifactError
from ganedge.artifacts.manifest import FORMAT, Manifest, sidecar_path


def test_round_trip_keeps_unknown_fields():
    m = Manifest(arch="dcgan", latent_dim=128, image_shape=(3, 32, 32), num_classes=10,
                 inputs=("z", "label"), train_step=5, extra={"tensorrt_version": "11.4"})
    again = Manifest.from_json(m.to_json())
    assert again == m
    assert again.conditional and again.height == 32
    assert json.loads(m.to_json())["format"] == FORMAT


@pytest.mark.parametrize(
    "text",
    ["not json", "[]", '{"format": "other/9"}', json.dumps({"format": FORMAT, "arch": "x"}),
     json.dumps({"format": FORMAT, "arch": "x", "latent_dim": 0, "image_shape": [3, 8, 8]}),
     json.dumps({"format": FORMAT, "arch": "x", "latent_dim": 4, "image_shape": [3, 8]}),
     json.dumps({"format": FORMAT, "arch": "x", "latent_dim": 4, "image_shape": [3, 8, 8], "precision": "fp64"})],
)
def test_invalid_manifests_are_artifact_errors(text):
    with pytest.raises(ArtifactError):
        Manifest.from_json(text, where="model.onnx")


def test_sidecar_path():
    assert sidecar_path("a/model.engine").name == "model.engine.json"
