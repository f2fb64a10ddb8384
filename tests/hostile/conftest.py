"""Fixtures for the hostile-input and fault tests: good artifacts to damage, and the CLI in process.

Every test here hands ganedge something broken, foreign or malicious and checks the promise:
a GanEdgeError with a one-line message (exit 2 from the CLI), never a traceback, never code run
from a pickle, never a file read from outside a model's folder, never a half-written output.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


from tests.hostile.hostile_helpers import run_ganedge, tiny_onnx


@pytest.fixture(scope="session")
def good_onnx(tmp_path_factory) -> Path:
    return tiny_onnx(tmp_path_factory.mktemp("good-onnx") / "model.onnx")


@pytest.fixture(scope="session")
def good_run(tmp_path_factory) -> Path:
    """A run directory as `ganedge train` writes it (config, weights, optimizer, state, checkpoints/),
    from two real training steps in a subprocess."""
    run = tmp_path_factory.mktemp("good-run") / "run"
    result = run_ganedge("train", "--arch", "mlp", "--dataset", "digits", "--image-size", "16", "--latent-dim", "8",
                         "--g-width", "16", "--d-width", "16", "--batch-size", "8", "--steps", "2",
                         "--checkpoint-every", "1", "--log-every", "1", "--sample-every", "2", "--threads", "1",
                         "--quiet", "-o", run)
    assert result.returncode == 0, result.stderr
    return run


@pytest.fixture
def run_copy(good_run, tmp_path) -> Path:
    """A private copy of ``good_run`` to damage (hard links are broken: every file is its own)."""
    target = tmp_path / "run"
    shutil.copytree(good_run, target, copy_function=shutil.copy2)
    return target


@pytest.fixture
def onnx_copy(good_onnx, tmp_path) -> Path:
    target = tmp_path / "model.onnx"
    shutil.copyfile(good_onnx, target)
    return target
