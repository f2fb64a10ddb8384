"""The matrix's own parts: how an outcome is classified, where wheels come from, which commands exist."""

from __future__ import annotations

import pytest

from tests.packaging.installs import Outcome, wheel_sources
from tests.packaging.matrix import help_invocations, leaf_commands


@pytest.mark.parametrize("code, err, kind", [
    (0, "loading 1 variant(s)\n", "works"),
    (2, "error: ganedge train needs torch (pip install 'ganedge[train]')\n", "needs train"),
    (2, "error: x needs torch and onnxruntime (pip install 'ganedge[train,cpu]')\n", "needs train,cpu"),
    (2, "error: onnxruntime-web not found; run `npm ci`\n", "error"),
    (2, "loading 1 variant(s)\nerror: x needs onnxruntime (pip install 'ganedge[cpu]')\n", "FAILS"),  # two lines
    (1, "Traceback (most recent call last):\nModuleNotFoundError: No module named 'torch'\n", "FAILS"),
    (2, "Traceback (most recent call last):\nerror: x\n", "FAILS"),
    (1, "error: a check failed\n", "FAILS"),
])
def test_outcome_kinds(code, err, kind):
    assert Outcome(("x",), code, "", err, 0.1).kind == kind


def test_a_wheelhouse_means_no_index(monkeypatch, tmp_path):
    monkeypatch.setenv("GANEDGE_WHEELHOUSE", str(tmp_path))
    assert wheel_sources() == ["--no-index", "--find-links", str(tmp_path)]
    monkeypatch.setenv("GANEDGE_WHEELHOUSE", "online")
    assert wheel_sources() == []


def test_commands_come_from_the_cli_tables():
    names = leaf_commands()
    assert {"train", "inspect", "bench", "export onnx", "export web"} <= set(names) and "export" not in names
    helps = help_invocations()
    assert helps[""] == ("--help",) and helps["export"] == ("export", "--help")
    assert helps["export trt"] == ("export", "trt", "--help")
