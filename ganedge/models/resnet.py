"""SN-ResNet pair (Miyato et al. 2018; Gulrajani et al. 2017), suited to multi-object scenes.

G: linear z -> 4x4 map, then one residual up-block per doubling (BatchNorm-ReLU-nearest
Upsample-Conv3-BatchNorm-ReLU-Conv3, shortcut Upsample-Conv1), BatchNorm-ReLU-Conv3-tanh.
Nearest upsampling exports as one ONNX Resize; nothing else is unusual, so the graph is plain
Conv/BatchNorm/Relu/Add/Resize/Tanh with a dynamic batch dim.
D: spectral-normalised residual down-blocks (average pooling), ReLU, global sum pooling and a
projection head. Residual paths let a narrow network keep sharp edges that plain
DCGAN stacks blur at the same width.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ganedge.artifacts.run_config import ModelConfig
from ganedge.models.common import LatentConditioner, ProjectionHead, maybe_sn

DEFAULT_WIDTH = 64


def _g_channels(width: int, size: int) -> list[int]:
    """Channels at 4x4, 8x8, ..., size: wide at the start, ``width`` at the top (at most 4x wider)."""
    ups = int(math.log2(size)) - 2
    return [width * min(4, 2 ** (ups - i)) for i in range(ups + 1)]


class UpBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.skip = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, c_in, s, s) -> (N, c_out, 2s, 2s)
        up = F.interpolate(x, scale_factor=2.0, mode="nearest")
        h = F.interpolate(F.relu(self.bn1(x)), scale_factor=2.0, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h))))
        return h + self.skip(up)


class Generator(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c, size, _ = cfg.image_shape
        chans = _g_channels(cfg.g_width or DEFAULT_WIDTH, size)
        self.cond = LatentConditioner(cfg.latent_dim, cfg.num_classes)
        self.first_channels = chans[0]
        self.fc = nn.Linear(cfg.latent_dim + self.cond.out_dim_extra, chans[0] * 16)
        self.blocks = nn.Sequential(*(UpBlock(a, b) for a, b in zip(chans[:-1], chans[1:])))
        self.out = nn.Sequential(nn.BatchNorm2d(chans[-1]), nn.ReLU(), nn.Conv2d(chans[-1], c, 3, 1, 1), nn.Tanh())

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.fc(self.cond(z, labels)).view(-1, self.first_channels, 4, 4)  # (N, ch0, 4, 4)
        return self.out(self.blocks(h))  # (N, C, H, W)


class DownBlock(nn.Module):
    """Residual block that halves the resolution; ``first`` skips the leading ReLU (raw pixels in)."""

    def __init__(self, c_in: int, c_out: int, sn: bool, first: bool = False, down: bool = True):
        super().__init__()
        self.first, self.down = first, down
        self.conv1 = maybe_sn(nn.Conv2d(c_in, c_out, 3, 1, 1), sn)
        self.conv2 = maybe_sn(nn.Conv2d(c_out, c_out, 3, 1, 1), sn)
        self.skip = maybe_sn(nn.Conv2d(c_in, c_out, 1), sn) if (c_in != c_out or down) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, c_in, s, s) -> (N, c_out, s/2, s/2)
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        if self.down:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.skip is not None:
            # Pool before the 1x1 conv on the raw input (cheaper, same result); after it otherwise.
            s = self.skip(F.avg_pool2d(s, 2)) if (self.first and self.down) else self.skip(s)
            if self.down and not self.first:
                s = F.avg_pool2d(s, 2)
        return h + s


class Discriminator(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c, size, _ = cfg.image_shape
        sn = cfg.d_spectral_norm
        width = cfg.d_width or DEFAULT_WIDTH
        downs = int(math.log2(size)) - 3  # down to 8x8, then one block at 8x8 (as in SNGAN's CIFAR D)
        chans = [width * min(4, 2**i) for i in range(downs + 1)]
        blocks: list[nn.Module] = [DownBlock(c, chans[0], sn, first=True)]
        for i in range(1, downs):
            blocks.append(DownBlock(chans[i - 1], chans[i], sn))
        blocks.append(DownBlock(chans[downs - 1], chans[downs], sn, down=False))
        self.blocks = nn.Sequential(*blocks)
        self.head = ProjectionHead(chans[downs], cfg.num_classes, sn)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = F.relu(self.blocks(x))  # (N, ch, 8, 8) at 32x32 input
        return self.head(h.sum(dim=(2, 3)), labels)  # global sum pooling -> (N,)
