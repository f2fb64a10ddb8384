"""Pieces shared by the architectures: label conditioning and spectral norm switches."""

from __future__ import annotations

import torch
from torch import nn


def maybe_sn(module: nn.Module, enabled: bool) -> nn.Module:
    """Spectral norm (as a parametrization, which export and state_dicts handle) when enabled."""
    return nn.utils.parametrizations.spectral_norm(module) if enabled else module


class LatentConditioner(nn.Module):
    """Concatenates a learned label embedding to z for conditional generators; identity otherwise."""

    def __init__(self, latent_dim: int, num_classes: int, embed_dim: int | None = None):
        super().__init__()
        self.num_classes = num_classes
        self.embed_dim = 0
        if num_classes > 0:
            self.embed_dim = embed_dim or min(latent_dim, 64)
            self.embed = nn.Embedding(num_classes, self.embed_dim)

    @property
    def out_dim_extra(self) -> int:
        return self.embed_dim

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        if self.num_classes == 0:
            return z
        assert labels is not None, "a conditional generator needs labels"
        return torch.cat([z, self.embed(labels)], dim=1)


class ProjectionHead(nn.Module):
    """Final D score: linear on features, plus the projection-discriminator label term if conditional."""

    def __init__(self, features: int, num_classes: int, spectral_norm: bool):
        super().__init__()
        self.linear = maybe_sn(nn.Linear(features, 1), spectral_norm)
        self.num_classes = num_classes
        if num_classes > 0:
            self.embed = maybe_sn(nn.Embedding(num_classes, features), spectral_norm)

    def forward(self, h: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        # Same as self.linear(h).squeeze(1), written so the weight's gradient comes out contiguous
        # (a matmul leaves it with (1, 1) strides, which DDP's gradient buckets warn about).
        out = (h * self.linear.weight).sum(dim=1) + self.linear.bias  # (N,)
        if self.num_classes > 0:
            assert labels is not None, "a conditional discriminator needs labels"
            out = out + (self.embed(labels) * h).sum(dim=1)
        return out
