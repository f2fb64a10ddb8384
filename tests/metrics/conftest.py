"""Run directories for the ``ganedge eval`` tests.

Like tests/conftest.py's ``make_run_dir`` (random deterministic weights, BatchNorm statistics from
three train-mode passes), but G_ema is a copy of G: ``make_run_dir`` passes one module as both,
which safetensors refuses as shared tensors (reported to the lead). Also takes ``dataset``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def eval_run_dir(tmp_path_factory):
    cache: dict[tuple, Path] = {}

    def make(arch: str = "dcgan", size: int = 32, num_classes: int = 0, channels: int = 3,
             latent_dim: int = 64, dataset: str = "scenes", seed: int = 0) -> Path:
        key = (arch, size, num_classes, channels, latent_dim, dataset, seed)
        if key in cache:
            return cache[key]
        import torch

        from ganedge.train.checkpoint import CONFIG_FILE, STATE_FILE, WEIGHTS_FILE, save_weights
        from ganedge.train.config import ModelConfig, RunConfig
        from ganedge.train.models import build_discriminator, build_generator

        cfg = RunConfig(model=ModelConfig(arch=arch, latent_dim=latent_dim, image_shape=(channels, size, size),
                                          num_classes=num_classes, g_width=16, d_width=16), dataset=dataset)
        torch.manual_seed(seed)
        g, d = build_generator(cfg.model), build_discriminator(cfg.model)
        g.train()
        with torch.no_grad():
            for _ in range(3):
                labels = torch.randint(0, num_classes, (32,)) if num_classes else None
                g(torch.randn(32, latent_dim), labels)
        g.eval()
        run = tmp_path_factory.mktemp(f"eval-{arch}{size}-{dataset}")
        (run / CONFIG_FILE).write_text(cfg.to_json())
        save_weights(run / WEIGHTS_FILE, {"G": g, "G_ema": copy.deepcopy(g), "D": d}, metadata={"step": 0})
        (run / STATE_FILE).write_text(json.dumps({"step": 0}))
        cache[key] = run
        return run

    return make


@pytest.fixture(autouse=True)
def _private_feature_cache(tmp_path_factory, monkeypatch):
    """Keep the real-feature disk cache out of the user's home (subprocesses inherit the variable)."""
    monkeypatch.setenv("GANEDGE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "ganedge-cache"))
