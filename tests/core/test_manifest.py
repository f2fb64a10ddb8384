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


def _with_names(names, num_classes=3) -> str:
    return json.dumps({"format": FORMAT, "arch": "x", "latent_dim": 4, "image_shape": [3, 8, 8],
                       "num_classes": num_classes, "class_names": names})


def test_class_names_round_trip_as_a_list():
    m = Manifest(arch="dcgan", latent_dim=8, image_shape=(3, 16, 16), num_classes=2, class_names=["cat", "dog"])
    assert m.class_names == ("cat", "dog")  # normalised to a tuple
    assert json.loads(m.to_json())["class_names"] == ["cat", "dog"]
    assert Manifest.from_json(m.to_json()) == m
    assert "class_names" not in Manifest(arch="x", latent_dim=4, image_shape=(3, 8, 8)).to_dict()


@pytest.mark.parametrize("names, num_classes, match", [
    (["a", "b"], 3, "2 names for 3 classes"),
    (["a", "b", "a"], 3, "'a' appears twice"),
    (["a", "", "c"], 3, "non-empty"),
    (["a", " b", "c"], 3, "surrounding spaces"),
    (["a", 2, "c"], 3, "non-empty string"),
    ("abc", 3, "list of strings"),
    (["a"], 0, "1 name for 0 classes"),
])
def test_bad_class_names_are_refused(names, num_classes, match):
    with pytest.raises(ArtifactError, match=match):
        Manifest.from_json(_with_names(names, num_classes), where="model.onnx")
    with pytest.raises(ArtifactError, match=match):
        Manifest(arch="x", latent_dim=4, image_shape=(3, 8, 8), num_classes=num_classes, class_names=names)
