"""A generator that draws noise inside ``forward``: not a function of z, so it cannot be exported.

This is the noise injection of FastGAN and of the common StyleGAN2 ports when no noise is
passed in (``noise = torch.randn(batch, 1, H, W)`` on every call, eval mode or not): two calls
with the same z give different images, and an exported graph would either freeze one draw as
a constant or fail. An exporter must refuse it and name the fix (store the noise as a buffer,
or derive it from z).
"""

from __future__ import annotations

import math

import torch
from torch import nn

LATENT_DIM = 32
CHANNELS = (64, 32, 32, 16)  # at 4, 8, 16 and 32
SEED = 7


class NoiseInjection(nn.Module):
    """x + strength * fresh N(0, 1) noise, drawn per call (the pattern under test)."""

    def __init__(self, strength: float = 0.2):
        super().__init__()
        self.strength = nn.Parameter(torch.tensor(strength))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        noise = torch.randn(n, 1, h, w, device=x.device, dtype=x.dtype)
        return x + self.strength * noise


class NoisyGenerator(nn.Module):
    """z (N, latent_dim) -> image (N, 3, 32, 32) in [-1, 1], different on every call."""

    def __init__(self, latent_dim: int = LATENT_DIM):
        super().__init__()
        self.latent_dim = latent_dim
        self.fc = nn.Linear(latent_dim, CHANNELS[0] * 16)
        layers: list[nn.Module] = []
        for c_in, c_out in zip(CHANNELS[:-1], CHANNELS[1:]):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, padding=1),
                       NoiseInjection(), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers)
        self.to_rgb = nn.Conv2d(CHANNELS[-1], 3, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.fc(z).view(z.shape[0], CHANNELS[0], 4, 4)
        return torch.tanh(self.to_rgb(self.body(x)) * math.sqrt(2.0))


def build_generator() -> NoisyGenerator:
    """The module-reference entry point: ``noise_in_forward.py:build_generator`` (eval mode; still random)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        g = NoisyGenerator()
    return g.eval()
