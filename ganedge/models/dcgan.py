"""DCGAN-style conv nets (Radford et al.): ConvTranspose + BatchNorm in G, strided convs in D.

Sizes 16..128: G starts from a 4x4 map and doubles it with stride-2, kernel-4 ConvTranspose
layers (the form export's sub-pixel rewrite turns into Conv + DepthToSpace for fast int8).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganedge.artifacts.run_config import ModelConfig
from ganedge.models.common import LatentConditioner, ProjectionHead, maybe_sn

DEFAULT_WIDTH = 64


def _channels(width: int, size: int) -> list[int]:
    """Channel count per resolution 4, 8, ..., size (widest at 4x4, ``width`` at the top)."""
    ups = int(math.log2(size)) - 2
    return [width * min(8, 2 ** (ups - i)) for i in range(ups + 1)]


class Generator(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c, size, _ = cfg.image_shape
        chans = _channels(cfg.g_width or DEFAULT_WIDTH, size)
        self.cond = LatentConditioner(cfg.latent_dim, cfg.num_classes)
        in_dim = cfg.latent_dim + self.cond.out_dim_extra
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(in_dim, chans[0], 4, 1, 0, bias=False),  # (N, ch0, 4, 4)
            nn.BatchNorm2d(chans[0]),
            nn.ReLU(True),
        ]
        for c_in, c_out in zip(chans[:-1], chans[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        layers += [nn.Conv2d(chans[-1], c, 3, 1, 1), nn.Tanh()]  # (N, C, size, size)
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.cond(z, labels)
        return self.net(h[:, :, None, None])  # (N, latent, 1, 1) -> (N, C, H, W)


class Discriminator(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c, size, _ = cfg.image_shape
        sn = cfg.d_spectral_norm
        chans = list(reversed(_channels(cfg.d_width or DEFAULT_WIDTH, size)))  # narrow at full size, widest at 4x4
        layers: list[nn.Module] = [maybe_sn(nn.Conv2d(c, chans[0], 3, 1, 1), sn), nn.LeakyReLU(0.2, True)]
        for c_in, c_out in zip(chans[:-1], chans[1:]):
            layers += [maybe_sn(nn.Conv2d(c_in, c_out, 4, 2, 1), sn), nn.LeakyReLU(0.2, True)]
        self.body = nn.Sequential(*layers, nn.Flatten())  # (N, ch * 4 * 4)
        self.head = ProjectionHead(chans[-1] * 16, cfg.num_classes, sn)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.body(x), labels)
