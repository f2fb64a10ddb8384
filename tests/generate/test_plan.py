"""The shard plan: seed layout, identity and the one-line differences a refused resume names."""

from __future__ import annotations

import json

import pytest

from ganedge.errors import ArtifactError, BadInputError
from ganedge.generate.labels import LabelPlan, balanced_counts
from ganedge.generate.plan import Plan, class_folders
from ganedge.artifacts.manifest import Manifest

MANIFEST = Manifest(arch="dcgan", latent_dim=8, image_shape=(3, 16, 16), num_classes=3).to_dict()


def make(**changes) -> Plan:
    args = dict(model="m.onnx", model_sha256="ab" * 32, manifest=MANIFEST, count=25, seed=100, shard_size=10,
                truncation=1.0, format="webdataset", labels=LabelPlan("balanced", 3, balanced_counts(25, 3)))
    args.update(changes)
    return Plan(**args)


def test_shard_i_holds_seeds_from_seed_plus_i_times_shard_size():
    plan = make()
    assert [(s.index, s.first_seed, s.count, s.start) for s in plan.shards] == [(0, 100, 10, 0), (1, 110, 10, 10),
                                                                                 (2, 120, 5, 20)]
    assert [s.name for s in plan.shards] == ["000000", "000001", "000002"]


def test_round_trip_and_edited_plans(tmp_path):
    plan = make()
    path = tmp_path / "plan.json"
    path.write_text(plan.to_json())
    assert Plan.read(path).identity() == plan.identity()
    data = json.loads(path.read_text())
    data["shards"][1]["count"] = 11
    path.write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match="edited"):
        Plan.read(path)
    path.write_text("{")
    with pytest.raises(ArtifactError, match="unreadable"):
        Plan.read(path)


def test_differences_name_each_changed_argument():
    plan = make()
    assert plan.differences(make(arguments={"workers": 9}, created=1)) == []  # execution settings are free
    assert plan.differences(make(truncation=0.5)) == ["--truncation is 1.0 in plan.json but 0.5 now"]
    changed = make(model_sha256="cd" * 32, shard_size=5)
    assert [d.split(" is ")[0] for d in plan.differences(changed)] == ["the model (sha256)", "--shard-size"]


@pytest.mark.parametrize("changes,needle", [({"count": 0}, "--count"), ({"shard_size": 0}, "--shard-size"),
                                             ({"seed": 2**63 - 5}, r"2\*\*63"), ({"format": "zip"}, "--format")])
def test_bad_plans_are_refused(changes, needle):
    if "count" in changes:
        changes["labels"] = LabelPlan("none", 0, ())
    with pytest.raises(BadInputError, match=needle):
        make(**changes)


def test_class_folders_sort_in_id_order():
    names = ["zebra", "ant", "a/b", "", "émeu", "yak", "x", "w", "v", "u", "t", "s"]
    folders = class_folders(len(names), names)
    assert sorted(folders) == folders  # ImageFolder and `ganedge train` sort names: ids come back
    assert folders[:4] == ["00-zebra", "01-ant", "02-a_b", "03"]
    assert class_folders(0, None) == ["images"] and class_folders(3, None) == ["0", "1", "2"]
