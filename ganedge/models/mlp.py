"""The MLP pair of ganedge's original design: z -> 128 -> 128 -> pixels (LeakyReLU, tanh out)."""

from __future__ import annotations

import math

import torch
from torch import nn

from ganedge.artifacts.run_config import ModelConfig
from ganedge.models.common import LatentConditioner, ProjectionHead, maybe_sn

DEFAULT_WIDTH = 128


class Generator(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.image_shape = tuple(cfg.image_shape)
        hidden = cfg.g_width or DEFAULT_WIDTH
        self.cond = LatentConditioner(cfg.latent_dim, cfg.num_classes)
        self.net = nn.Sequential(
            nn.Linear(cfg.latent_dim + self.cond.out_dim_extra, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, math.prod(self.image_shape)),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        x = self.net(self.cond(z, labels))  # (N, C*H*W)
        return x.view(-1, *self.image_shape)  # (N, C, H, W)


class Discriminator(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        hidden = cfg.d_width or DEFAULT_WIDTH
        sn = cfg.d_spectral_norm
        self.body = nn.Sequential(
            nn.Flatten(),
            maybe_sn(nn.Linear(math.prod(cfg.image_shape), hidden), sn),
            nn.LeakyReLU(0.2),
            maybe_sn(nn.Linear(hidden, hidden), sn),
            nn.LeakyReLU(0.2),
        )
        self.head = ProjectionHead(hidden, cfg.num_classes, sn)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.body(x), labels)
