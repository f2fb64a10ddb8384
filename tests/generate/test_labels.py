"""Labels as a pure function of an image's position in the job: exact counts, any split gives
the same labels, and --labels parsing (ids, names, CSV/JSON files, refusals)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ganedge.errors import BadInputError
from ganedge.generate.labels import LabelPlan, balanced_counts, plan_labels
from ganedge.artifacts.manifest import Manifest


def manifest(k: int, names: list[str] | None = None) -> Manifest:
    return Manifest(arch="dcgan", latent_dim=8, image_shape=(3, 16, 16), num_classes=k,
                    class_names=tuple(names) if names else None)


@pytest.mark.parametrize("total,k", [(1, 3), (10, 3), (1003, 10), (7, 7), (2, 5)])
def test_balanced_counts_differ_by_at_most_one_and_match_the_labels(total, k):
    plan = LabelPlan("balanced", k, balanced_counts(total, k))
    counts = np.bincount(plan.labels(0, total), minlength=k)
    assert counts.tolist() == list(plan.counts) and counts.sum() == total
    assert counts.max() - counts.min() <= 1


@pytest.mark.parametrize("mode,counts", [("balanced", balanced_counts(1000, 7)), ("counts", (700, 200, 0, 100)),
                                         ("counts", (1, 0, 999)), ("class", (0, 50, 0))])
def test_any_split_of_the_job_gives_the_same_labels(mode, counts):
    plan = LabelPlan(mode, len(counts), tuple(counts))
    whole = plan.labels(0, plan.total)
    rng = np.random.default_rng(0)
    cuts = sorted({0, plan.total, *rng.integers(0, plan.total, 9).tolist()})
    pieces = np.concatenate([plan.labels(a, b) for a, b in zip(cuts, cuts[1:])])
    assert np.array_equal(whole, pieces)
    assert np.bincount(whole, minlength=len(counts)).tolist() == list(counts)


def test_counts_are_interleaved_not_blocked():
    plan = LabelPlan("counts", 3, (700, 200, 100))
    labels = plan.labels(0, 1000)
    for start in range(0, 900, 100):  # every window of 100 holds about 70/20/10
        window = np.bincount(labels[start:start + 100], minlength=3)
        assert np.abs(window - np.array([70, 20, 10])).max() <= 5, (start, window)


def test_huge_jobs_do_not_overflow():
    n = 2**40 + 3  # j * a overflows int64: the exact Python-integer path
    plan = LabelPlan("counts", 2, (n // 3, n - n // 3))
    labels = plan.labels(n - 5, n)
    a = __import__("ganedge.generate.labels", fromlist=["_multiplier"])._multiplier(n)
    expected = [0 if (j * a) % n < n // 3 else 1 for j in range(n - 5, n)]
    assert labels.tolist() == expected


def test_class_by_id_and_by_name():
    m = manifest(3, ["cat", "dog", "eel"])
    assert plan_labels("2", m, 4)[0].labels(0, 4).tolist() == [2, 2, 2, 2]
    assert plan_labels("dog", m, 3)[0].labels(0, 3).tolist() == [1, 1, 1]
    assert plan_labels(None, m, 6)[0].mode == "balanced"


def test_counts_files_csv_and_json(tmp_path):
    m = manifest(3, ["cat", "dog", "eel"])
    csv = tmp_path / "c.csv"
    csv.write_text("class,count\ncat,5\n2,1\n")
    plan, total = plan_labels(str(csv), m, None)
    assert (plan.mode, plan.counts, total) == ("counts", (5, 0, 1), 6)
    obj = tmp_path / "c.json"
    obj.write_text(json.dumps({"dog": 3, "eel": 2}))
    assert plan_labels(str(obj), m, 5)[0].counts == (0, 3, 2)
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2, 3]")
    assert plan_labels(str(listed), m, None)[0].counts == (1, 2, 3)


@pytest.mark.parametrize("content,needle", [
    ("cat,5\nwolf,2\n", "'wolf' is not a class"),
    ("cat,5\ncat,2\n", "listed twice"),
    ("cat,-1\n", "negative"),
    ("cat,1.5\n", "whole number"),
    ("cat,0\n", "add up to 0"),
    ("cat,5,1\n", "row 1 has 3 cells"),
    ("{\"cat\": 2", "not valid JSON"),
    ("7\n", "row 1 has 1 cells"),
])
def test_bad_counts_files_name_the_problem(tmp_path, content, needle):
    path = tmp_path / ("f.json" if content.startswith("{") else "f.csv")
    path.write_text(content)
    with pytest.raises(BadInputError, match=needle):
        plan_labels(str(path), manifest(3, ["cat", "dog", "eel"]), None)


def test_refusals():
    with pytest.raises(BadInputError, match="unconditional"):
        plan_labels("balanced", manifest(0), 10)
    with pytest.raises(BadInputError, match="--count is required"):
        plan_labels("balanced", manifest(3), None)
    with pytest.raises(BadInputError, match="out of range"):
        plan_labels("3", manifest(3), 10)
    with pytest.raises(BadInputError, match="nor an existing CSV/JSON"):
        plan_labels("no-such-file.csv", manifest(3), 10)


def test_a_counts_file_and_count_must_agree(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("0,5\n1,5\n")
    assert plan_labels(str(path), manifest(2), 10)[1] == 10
    with pytest.raises(BadInputError, match="asks for 10 images but --count is 12"):
        plan_labels(str(path), manifest(2), 12)
