"""Run directories for the ``ganedge eval`` tests: tests/conftest.py's ``make_run_dir`` at width 16
and latent 64 (small and fast), for any dataset."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def eval_run_dir(make_run_dir):
    def make(arch: str = "dcgan", size: int = 32, num_classes: int = 0, channels: int = 3,
             latent_dim: int = 64, dataset: str = "scenes", seed: int = 0):
        return make_run_dir(arch=arch, size=size, num_classes=num_classes, channels=channels,
                            latent_dim=latent_dim, width=16, seed=seed, dataset=dataset)

    return make


@pytest.fixture(autouse=True)
def _private_feature_cache(tmp_path_factory, monkeypatch):
    """Keep the real-feature disk cache out of the user's home (subprocesses inherit the variable)."""
    monkeypatch.setenv("GANEDGE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "ganedge-cache"))
