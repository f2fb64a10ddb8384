"""The wheel, built once per session, and the install matrix (every command in every install), run once.

Both take a while (the wheel a few seconds; the matrix about a minute of CPU on two cores, mostly
unpacking torch and importing it for the first time), so each is made by the first test that asks.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.packaging.installs import REPO, build_wheel
from tests.packaging.matrix import format_table, make_inputs, run_matrix


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def matrix(wheel, tmp_path_factory):
    """Outcomes per install column and command (tests.packaging.matrix), and the inputs they ran on."""
    work = tmp_path_factory.mktemp("matrix")
    inputs = make_inputs(work / "inputs")
    outcomes, _ = run_matrix(work, wheel, inputs)
    artifacts = Path(os.environ.get("GANEDGE_TEST_ARTIFACTS", REPO / "test-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "install-matrix.md").write_text(format_table(outcomes) + "\n")  # the closing-note table
    return outcomes, inputs
