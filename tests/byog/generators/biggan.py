"""A small class-conditional BigGAN-style generator (Brock et al. 2019) at 32x32, 10 classes.

The published design, narrow:

- a shared class embedding; z split into chunks (hierarchical latents): the first chunk feeds
  the linear layer that makes the 4x4 map, each later chunk is concatenated with the shared
  embedding to condition one block;
- residual up-blocks: conditional BN -> ReLU -> nearest x2 -> 3x3 conv -> conditional BN -> ReLU
  -> 3x3 conv, plus a nearest x2 -> 1x1 conv shortcut;
- conditional batch norm: BN without affine parameters, then per-sample gain ``1 + Wg y`` and
  bias ``Wb y`` from linear layers of the conditioning vector;
- one SAGAN self-attention block at 16x16, keys and values max-pooled 2x2, a learned gain;
- BN -> ReLU -> 3x3 conv -> tanh at the end;
- spectral norm on every conv and linear through ``torch.nn.utils.parametrizations.spectral_norm``
  (in eval mode it divides by the stored estimate: deterministic), orthogonal init as BigGAN's
  ``G_init='ortho'``. BatchNorm statistics are set the way training leaves them.

``forward(z, label)``: z float32 (N, 80), label int64 (N,) in [0, 10).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

try:  # imported as the package tests.byog.generators
    from .calibration import calibrate_batchnorm
except ImportError:  # loaded by file path as FILE.py:NAME: its folder is on sys.path, as when a user runs it
    from calibration import calibrate_batchnorm

LATENT_DIM = 80
NUM_CLASSES = 10
SHARED_DIM = 32
BLOCKS = ((64, 64), (64, 32), (32, 16))  # (in, out) channels of the blocks at 8, 16 and 32
ATTENTION_AFTER = 1  # after the block that makes 16x16
SEED = 2019


def ortho_sn(module: nn.Module) -> nn.Module:
    """Orthogonal init, then spectral norm (whose first power iterations see the final weight)."""
    nn.init.orthogonal_(module.weight)
    return spectral_norm(module)


def sn_conv(in_ch: int, out_ch: int, kernel: int, bias: bool = True) -> nn.Module:
    return ortho_sn(nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, bias=bias))


def sn_linear(in_features: int, out_features: int, bias: bool = True) -> nn.Module:
    return ortho_sn(nn.Linear(in_features, out_features, bias=bias))


class ConditionalBatchNorm(nn.Module):
    """BN without affine, then class- and z-dependent gain and bias."""

    def __init__(self, channels: int, cond_dim: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gain = sn_linear(cond_dim, channels, bias=False)
        self.bias = sn_linear(cond_dim, channels, bias=False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        gain = (1 + self.gain(y)).view(y.shape[0], -1, 1, 1)
        bias = self.bias(y).view(y.shape[0], -1, 1, 1)
        return self.bn(x) * gain + bias


class GBlock(nn.Module):
    """Residual up-block; doubles the resolution."""

    def __init__(self, in_ch: int, out_ch: int, cond_dim: int):
        super().__init__()
        self.bn1 = ConditionalBatchNorm(in_ch, cond_dim)
        self.conv1 = sn_conv(in_ch, out_ch, 3)
        self.bn2 = ConditionalBatchNorm(out_ch, cond_dim)
        self.conv2 = sn_conv(out_ch, out_ch, 3)
        self.conv_sc = sn_conv(in_ch, out_ch, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(x, y))
        h = self.conv1(F.interpolate(h, scale_factor=2, mode="nearest"))
        h = self.conv2(F.relu(self.bn2(h, y)))
        return h + self.conv_sc(F.interpolate(x, scale_factor=2, mode="nearest"))


class SelfAttention(nn.Module):
    """SAGAN attention: queries at full resolution, keys/values max-pooled 2x2."""

    def __init__(self, ch: int, gamma: float):
        super().__init__()
        self.ch = ch
        self.theta = sn_conv(ch, ch // 8, 1, bias=False)
        self.phi = sn_conv(ch, ch // 8, 1, bias=False)
        self.g = sn_conv(ch, ch // 2, 1, bias=False)
        self.o = sn_conv(ch // 2, ch, 1, bias=False)
        self.gamma = nn.Parameter(torch.tensor(float(gamma)))  # 0 at the start of training; learned

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        theta = self.theta(x).view(n, self.ch // 8, h * w)  # (N, C/8, HW)
        phi = F.max_pool2d(self.phi(x), 2).view(n, self.ch // 8, h * w // 4)  # (N, C/8, HW/4)
        g = F.max_pool2d(self.g(x), 2).view(n, self.ch // 2, h * w // 4)  # (N, C/2, HW/4)
        beta = F.softmax(torch.bmm(theta.transpose(1, 2), phi), dim=-1)  # (N, HW, HW/4)
        o = self.o(torch.bmm(g, beta.transpose(1, 2)).view(n, self.ch // 2, h, w))
        return x + self.gamma * o


class BigGANGenerator(nn.Module):
    """(z (N, latent_dim), label (N,) int64) -> image (N, 3, 32, 32) in [-1, 1]."""

    def __init__(self, latent_dim: int = LATENT_DIM, num_classes: int = NUM_CLASSES, shared_dim: int = SHARED_DIM):
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.num_chunks = len(BLOCKS) + 1
        assert latent_dim % self.num_chunks == 0, "latent_dim must split evenly into one chunk per block + 1"
        self.chunk = latent_dim // self.num_chunks
        cond_dim = shared_dim + self.chunk
        self.shared = nn.Embedding(num_classes, shared_dim)
        nn.init.orthogonal_(self.shared.weight)
        self.linear = sn_linear(self.chunk, BLOCKS[0][0] * 4 * 4)
        self.blocks = nn.ModuleList(GBlock(i, o, cond_dim) for i, o in BLOCKS)
        self.attention = SelfAttention(BLOCKS[ATTENTION_AFTER][1], gamma=0.3)
        last = BLOCKS[-1][1]
        self.output = nn.Sequential(nn.BatchNorm2d(last), nn.ReLU(), sn_conv(last, 3, 3), nn.Tanh())

    def forward(self, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        zs = torch.split(z, self.chunk, dim=1)
        y = self.shared(label)  # (N, shared_dim)
        conds = [torch.cat([y, zi], dim=1) for zi in zs[1:]]  # one (N, shared + chunk) per block
        h = self.linear(zs[0]).view(z.shape[0], -1, 4, 4)  # (N, C, 4, 4)
        for index, (block, cond) in enumerate(zip(self.blocks, conds)):
            h = block(h, cond)
            if index == ATTENTION_AFTER:
                h = self.attention(h)
        return self.output(h)  # (N, 3, 32, 32)


def build_generator() -> BigGANGenerator:
    """The module-reference entry point: ``biggan.py:build_generator`` (eval mode, fixed init)."""
    with torch.random.fork_rng(devices=[]):  # a fixed init that leaves the caller's RNG alone
        torch.manual_seed(SEED)
        g = BigGANGenerator()
        calibrate_batchnorm(g, lambda: (torch.randn(32, g.latent_dim), torch.randint(0, g.num_classes, (32,))))
    return g.eval()
