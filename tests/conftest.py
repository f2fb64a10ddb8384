"""Shared fixtures. Area-specific fixtures live in tests/<area>/conftest.py.

``make_run_dir`` writes a real run directory with freshly initialised, deterministic networks
(``ganedge.models.random_run.write_random_run``): export, SDK and bench tests need a model with
the right shapes, not a trained one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest


class CliResult:
    """What one in-process ``ganedge`` call did: exit code, stdout, stderr."""

    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def json(self):
        return json.loads(self.out)

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, err={self.err[-500:]!r})"


@pytest.fixture
def cli(capsys):
    """Run ``ganedge ARGS...`` in-process through the real entry point (error handling and exit codes)."""
    from ganedge.cli.main import main as cli_main

    def run(*args) -> CliResult:
        capsys.readouterr()
        try:
            cli_main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def pytest_configure(config):
    """Under bench/gpu_check.sh (GANEDGE_EXPECT_INSTALL set): refuse to test any ganedge but the installed wheel."""
    expected = os.environ.get("GANEDGE_EXPECT_INSTALL")
    if not expected:
        return
    import ganedge

    where = Path(ganedge.__file__).resolve().parent
    if Path(expected).resolve() not in where.parents:
        raise pytest.UsageError(f"the tests import ganedge from {where}, not from the install in {expected}; "
                                "run pytest outside the checkout with --import-mode=append (bench/gpu_check.sh does)")


@pytest.fixture(scope="session", autouse=True)
def private_user_cache(tmp_path_factory):
    """The SDK caches measurements per user (ganedge.usercache): keep the suite's out of ~/.cache, and
    start every run cold so the measuring code runs. Subprocesses inherit the variable."""
    before = os.environ.get("GANEDGE_CACHE_DIR")
    os.environ["GANEDGE_CACHE_DIR"] = str(tmp_path_factory.getbasetemp() / "user-cache")
    yield Path(os.environ["GANEDGE_CACHE_DIR"])
    if before is None:
        os.environ.pop("GANEDGE_CACHE_DIR", None)
    else:
        os.environ["GANEDGE_CACHE_DIR"] = before


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    if _cuda_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU (run bench/gpu_check.sh on a GPU machine)")
    for item in items:
        if item.get_closest_marker("gpu"):  # not item.keywords: folder names land there too
            item.add_marker(skip_gpu)


@pytest.fixture(scope="session")
def make_run_dir(tmp_path_factory):
    """Factory: ``make_run_dir(arch="dcgan", size=32, num_classes=0, channels=3, latent_dim=128, width=None,
    seed=0, dataset="scenes")``, cached per argument set."""
    from ganedge.models.random_run import write_random_run

    cache: dict[tuple, Path] = {}

    def make(arch: str = "dcgan", size: int = 32, num_classes: int = 0, channels: int = 3,
             latent_dim: int = 128, width: int | None = None, seed: int = 0, dataset: str = "scenes") -> Path:
        key = (arch, size, num_classes, channels, latent_dim, width, seed, dataset)
        if key not in cache:
            run = tmp_path_factory.mktemp(f"run-{arch}{size}-c{num_classes}-{dataset}")
            cache[key] = write_random_run(run, arch, size, latent_dim, num_classes, width, seed, channels=channels,
                                          dataset=dataset)
        return cache[key]

    return make
