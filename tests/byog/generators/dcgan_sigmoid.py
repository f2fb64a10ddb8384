"""The PyTorch DCGAN tutorial's generator at 32x32, ending in a sigmoid: images in [0, 1].

The tutorial's shape: z viewed as (N, nz, 1, 1) -> ConvTranspose2d(nz, 4*ngf, 4, 1, 0) -> BN ->
ReLU -> stride-2 ConvTranspose2d + BN + ReLU doubling the map -> ConvTranspose2d to 3 channels.
nz = 100 and the N(0, 0.02) / BN N(1, 0.02) init are the tutorial's; the sigmoid (instead of
tanh) makes the output range (0, 1), which the exporter must be told (``--output-range 0,1``).

``build_generator`` returns the module in eval mode; ``build_generator_train_mode`` returns the
same weights still in train mode, as a tutorial script leaves it, so an exporter can be checked
for putting the module in eval mode itself (in train mode BatchNorm mixes the batch).
"""

from __future__ import annotations

import torch
from torch import nn

try:  # imported as the package tests.byog.generators
    from .calibration import calibrate_batchnorm
except ImportError:  # loaded by file path as FILE.py:NAME: its folder is on sys.path, as when a user runs it
    from calibration import calibrate_batchnorm

LATENT_DIM = 100  # the tutorial's nz
NGF = 32
SEED = 999  # the tutorial's manualSeed


class DCGANGenerator(nn.Module):
    """z (N, nz) -> image (N, 3, 32, 32) in (0, 1)."""

    def __init__(self, nz: int = LATENT_DIM, ngf: int = NGF, nc: int = 3):
        super().__init__()
        self.nz = nz
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False),  # (N, 4*ngf, 4, 4)
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),  # (N, 2*ngf, 8, 8)
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),  # (N, ngf, 16, 16)
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),  # (N, 3, 32, 32)
            nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z.view(z.shape[0], self.nz, 1, 1))


def weights_init(m: nn.Module) -> None:
    """The tutorial's init: conv weights N(0, 0.02); BatchNorm gains N(1, 0.02), biases 0."""
    name = type(m).__name__
    if "Conv" in name:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def build_generator() -> DCGANGenerator:
    """The module-reference entry point: ``dcgan_sigmoid.py:build_generator`` (eval mode, fixed init)."""
    with torch.random.fork_rng(devices=[]):  # a fixed init that leaves the caller's RNG alone
        torch.manual_seed(SEED)
        g = DCGANGenerator()
        g.apply(weights_init)
        with torch.no_grad():  # a trained G uses the sigmoid's range; N(0, 0.02) here gives flat grey (std 0.04)
            g.main[-2].weight.mul_(10.0)
        calibrate_batchnorm(g, lambda: (torch.randn(32, g.nz),))
    return g.eval()


def build_generator_train_mode() -> DCGANGenerator:
    """The same weights, left in train mode (what ``netG = Generator(); netG.apply(weights_init)`` gives)."""
    return build_generator().train()
