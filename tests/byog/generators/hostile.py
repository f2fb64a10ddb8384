"""Module references that must be refused with one line (exit 2), each a mistake users make.

``FILE.py:NAME`` points at one of these; none of them may crash the exporter with a traceback:

- ``returns_state_dict``: the callable returns a state dict (a checkpoint), not a ``torch.nn.Module``;
- ``NOT_CALLABLE``: NAME is an int, not a callable;
- ``needs_arguments``: the callable wants arguments (module references take none);
- ``wrong_output_rank``: an MLP generator that forgets the final reshape, (N, 3072) instead of (N, 3, 32, 32);
- ``missing_forward``: ``forward`` misspelled, so torch raises NotImplementedError on the first call;
- ``forward_raises``: forward raises deep inside (a shape mismatch between layers);
- ``float64_output``: returns float64 images (refuse, or cast and say so; never a wrong file).
"""

from __future__ import annotations

import torch
from torch import nn

LATENT_DIM = 16
NOT_CALLABLE = 42


def _mlp(out_features: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(LATENT_DIM, 64), nn.ReLU(), nn.Linear(64, out_features), nn.Tanh())


def returns_state_dict():
    """A checkpoint instead of a network."""
    return _mlp(3 * 32 * 32).state_dict()


def needs_arguments(image_size: int):
    return _mlp(3 * image_size * image_size)


def wrong_output_rank() -> nn.Module:
    """(N, 16) -> (N, 3072): rank 2, not (N, C, H, W)."""
    return _mlp(3 * 32 * 32).eval()


class _MisspelledForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = _mlp(3 * 32 * 32)

    def foward(self, z: torch.Tensor) -> torch.Tensor:  # sic: nn.Module.forward is never overridden
        return self.net(z).view(-1, 3, 32, 32)


def missing_forward() -> nn.Module:
    return _MisspelledForward().eval()


class _LayerMismatch(nn.Module):
    """The second layer expects 128 features, the first gives 64: forward raises a RuntimeError."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(LATENT_DIM, 64)
        self.fc2 = nn.Linear(128, 3 * 32 * 32)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc2(torch.relu(self.fc1(z)))).view(-1, 3, 32, 32)


def forward_raises() -> nn.Module:
    return _LayerMismatch().eval()


class _Float64Output(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = _mlp(3 * 32 * 32)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, 3, 32, 32).double()


def float64_output() -> nn.Module:
    return _Float64Output().eval()
