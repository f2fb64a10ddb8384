"""Generators unlike ours, for the graph reader and FLOP tests: the ops other people's exports are made of.

PixelShuffleGen: Linear without bias, view, PixelShuffle (DepthToSpace), bilinear Resize, InstanceNorm,
a broadcast Mul, LeakyReLU, Sigmoid. ModulatedGen: a StyleGAN2-style modulated convolution (groups =
batch), which exports only at a fixed batch; 5-D Mul/ReduceSum, GELU. MatmulGen: token matmuls, LayerNorm,
softmax attention, a 6-D transpose to an image, Clip.
"""

import torch
from torch import nn
import torch.nn.functional as F


class PixelShuffleGen(nn.Module):
    """Linear -> view -> conv -> PixelShuffle -> bilinear upsample -> InstanceNorm -> LeakyReLU -> conv -> sigmoid."""

    def __init__(self, latent_dim=32):
        super().__init__()
        self.fc = nn.Linear(latent_dim, 16 * 4 * 4, bias=False)
        self.conv1 = nn.Conv2d(16, 32, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)
        self.norm = nn.InstanceNorm2d(8, affine=True)
        self.conv2 = nn.Conv2d(8, 3, 3, padding=1, groups=1)
        self.gamma = nn.Parameter(torch.ones(1, 8, 1, 1))

    def forward(self, z):
        x = self.fc(z).view(z.shape[0], 16, 4, 4)
        x = self.shuffle(self.conv1(x))  # (n, 8, 8, 8)
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)  # (n, 8, 16, 16)
        x = F.leaky_relu(self.norm(x) * self.gamma, 0.2)
        return torch.sigmoid(self.conv2(x))


class ModulatedGen(nn.Module):
    """StyleGAN2-style modulated conv: groups = batch, so only a fixed batch exports."""

    def __init__(self, latent_dim=16):
        super().__init__()
        self.const = nn.Parameter(torch.randn(1, 8, 4, 4))
        self.affine = nn.Linear(latent_dim, 8)
        self.weight = nn.Parameter(torch.randn(8, 8, 3, 3) * 0.1)
        self.to_rgb = nn.Conv2d(8, 3, 1)

    def forward(self, z):
        n = z.shape[0]
        style = self.affine(z) + 1  # (n, 8)
        w = self.weight[None] * style[:, None, :, None, None]  # (n, 8, 8, 3, 3)
        demod = torch.rsqrt((w * w).sum(dim=[2, 3, 4]) + 1e-8)
        w = w * demod[:, :, None, None, None]
        x = self.const.expand(n, -1, -1, -1).reshape(1, n * 8, 4, 4)
        x = F.conv2d(x, w.reshape(n * 8, 8, 3, 3), padding=1, groups=n).reshape(n, 8, 4, 4)
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return torch.tanh(self.to_rgb(F.gelu(x)))


class MatmulGen(nn.Module):
    """Token-style: (n, 16 tokens, d) matmuls, layer norm, softmax attention, transpose to an image."""

    def __init__(self, latent_dim=32):
        super().__init__()
        self.tokens = nn.Linear(latent_dim, 16 * 24)
        self.norm = nn.LayerNorm(24)
        self.q = nn.Linear(24, 24)
        self.k = nn.Linear(24, 24)
        self.v = nn.Linear(24, 24)
        self.out = nn.Linear(24, 3 * 2 * 2)

    def forward(self, z):
        n = z.shape[0]
        t = self.norm(self.tokens(z).view(n, 16, 24))
        att = torch.softmax(self.q(t) @ self.k(t).transpose(1, 2) / 24 ** 0.5, dim=-1)
        t = t + att @ self.v(t)
        x = self.out(t).view(n, 4, 4, 3, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(n, 3, 8, 8)
        return torch.clamp(x, -1, 1)
