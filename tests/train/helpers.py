"""Helpers for training tests: tiny real configs on the real ``scenes`` data and a CLI runner.

Sizes are the smallest the architectures allow (16x16, widths of 4-8, batches of 8) so a
step takes milliseconds; the behaviours under test (losses, checkpoints, resume, DDP) do not
depend on size.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Small, fast, and the same in every subprocess (one thread: float sums in one fixed order).
TINY_ARGS = ["--dataset", "scenes", "--image-size", "16", "--arch", "dcgan", "--g-width", "4", "--d-width", "4",
             "--latent-dim", "16", "--batch-size", "8", "--threads", "1", "--log-every", "2", "--sample-every", "6"]


def tiny_config(arch: str = "dcgan", loss: str = "hinge", num_classes: int = 0, channels: int = 3, **train):
    from ganedge.artifacts.run_config import ModelConfig, RunConfig, TrainConfig

    model = ModelConfig(arch=arch, latent_dim=16, image_shape=(channels, 16, 16), num_classes=num_classes,
                        g_width=8 if arch == "mlp" else 4, d_width=8 if arch == "mlp" else 4)
    defaults = dict(loss=loss, batch_size=8, log_every=1, sample_every=1000, checkpoint_every=1000)
    defaults.update(train)
    return RunConfig(model=model, train=TrainConfig(**defaults), dataset="scenes")


def run_cli(*args: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "ganedge", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout)


def read_tensors(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path))
