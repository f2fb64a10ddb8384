"""Generator/discriminator registry: ``build_generator(cfg)`` and ``build_discriminator(cfg)``.

Contract for every generator (export and the SDK rely on it):
  forward(z: (N, latent_dim) float32, labels: (N,) int64 or None) -> (N, C, H, W) in [-1, 1];
  no randomness and no data-dependent control flow inside forward(); only standard ops,
  so torch.onnx (dynamo) exports it with a dynamic batch dimension.
Every discriminator: forward(x: (N, C, H, W), labels) -> (N,) raw scores (logits).
"""

from __future__ import annotations

import importlib

from ganedge.errors import ConfigError
from ganedge.artifacts.run_config import ModelConfig

# arch -> module defining Generator(cfg) and Discriminator(cfg)
_MODULES = {
    "mlp": "ganedge.models.mlp",
    "dcgan": "ganedge.models.dcgan",
    "resnet": "ganedge.models.resnet",
}


def _module(arch: str):
    if arch not in _MODULES:
        raise ConfigError(f"unknown architecture {arch!r}; choose one of {', '.join(_MODULES)}")
    return importlib.import_module(_MODULES[arch])


def build_generator(cfg: ModelConfig):
    return _module(cfg.arch).Generator(cfg)


def build_discriminator(cfg: ModelConfig):
    return _module(cfg.arch).Discriminator(cfg)
