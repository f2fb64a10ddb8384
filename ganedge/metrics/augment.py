"""Generator-artifact augmentations used to train the feature nets (torch, batched, per-sample).

A feature net trained on clean renders alone reads GAN artifacts as content (a probe read
blurry blobs as "4 objects" for >93% of generated images and gave FDs in the hundreds of
thousands). Training it to give the same answer under these degradations makes small
artifacts move the features a little and wrong content move them a lot.

Every function takes float (N, C, H, W) in [-1, 1] and a ``torch.Generator``; each sample gets
its own random strength, and a sample is left alone with probability ``1 - p``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _pick(n: int, p: float, gen: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=gen) < p  # (N,) bool


def _uniform(n: int, lo: float, hi: float, gen: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def colour_jitter(x, gen, p=0.5, brightness=0.15, contrast=0.25, saturation=0.35):
    n = x.shape[0]
    on = _pick(n, p, gen)[:, None, None, None].to(x.dtype)
    b = _uniform(n, -brightness, brightness, gen)[:, None, None, None]
    c = _uniform(n, 1 - contrast, 1 + contrast, gen)[:, None, None, None]
    s = _uniform(n, 1 - saturation, 1 + saturation, gen)[:, None, None, None]
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    gray = x.mean(dim=1, keepdim=True)
    y = (gray + (x - gray) * s - mean) * c + mean + b
    return x + on * (y - x)


def blur(x, gen, p=0.3, sigma=(0.4, 1.2)):
    """Gaussian blur with a per-sample sigma (a grouped depthwise conv, separable)."""
    n, c, h, w = x.shape
    sig = _uniform(n, *sigma, gen)
    radius = 3
    taps = torch.arange(-radius, radius + 1, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (taps[None, :] / sig[:, None]) ** 2)
    kernel = kernel / kernel.sum(dim=1, keepdim=True)  # (N, 7)
    kernel = kernel.repeat_interleave(c, dim=0)  # (N*C, 7): one filter per (sample, channel)
    y = x.reshape(1, n * c, h, w)
    y = F.conv2d(F.pad(y, (radius, radius, 0, 0), mode="replicate"), kernel[:, None, None, :], groups=n * c)
    y = F.conv2d(F.pad(y, (0, 0, radius, radius), mode="replicate"), kernel[:, None, :, None], groups=n * c)
    on = _pick(n, p, gen)[:, None, None, None].to(x.dtype)
    return x + on * (y.reshape(n, c, h, w) - x)


def noise(x, gen, p=0.4, sigma=(0.0, 0.15)):
    n = x.shape[0]
    std = (_uniform(n, *sigma, gen) * _pick(n, p, gen))[:, None, None, None].to(x.dtype)
    return x + std * torch.randn(x.shape, generator=gen, dtype=x.dtype)


def blockiness(x, gen, p=0.2):
    """Lost resolution: 2x down and back up, bilinear (soft) or nearest (blocky, JPEG-like)."""
    n, c, h, w = x.shape
    small = F.avg_pool2d(x, 2)
    soft = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    blocky = F.interpolate(small, size=(h, w), mode="nearest")
    which = _pick(n, 0.5, gen)[:, None, None, None].to(x.dtype)
    y = which * soft + (1 - which) * blocky
    on = _pick(n, p, gen)[:, None, None, None].to(x.dtype)
    return x + on * (y - x)


def quantize(x, gen, p=0.1, bits=(3, 6)):
    n = x.shape[0]
    levels = (2 ** torch.randint(bits[0], bits[1] + 1, (n,), generator=gen)).to(x.dtype)[:, None, None, None] - 1
    y = torch.round((x + 1) / 2 * levels) / levels * 2 - 1
    on = _pick(n, p, gen)[:, None, None, None].to(x.dtype)
    return x + on * (y - x)


def checkerboard(x, gen, p=0.2, amplitude=(0.02, 0.12)):
    """The +-a pattern of stride-2 transposed convolutions."""
    n, c, h, w = x.shape
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    pattern = (((yy + xx) % 2) * 2 - 1).to(x.dtype)  # (H, W)
    amp = (_uniform(n, *amplitude, gen) * _pick(n, p, gen))[:, None, None, None].to(x.dtype)
    sign = torch.where(torch.rand(n, c, 1, 1, generator=gen) < 0.5, -1.0, 1.0).to(x.dtype)
    return x + amp * sign * pattern


def shift(x, gen, p=0.5, max_shift=2):
    """Translate each sample by up to ``max_shift`` pixels (edge pixels repeated)."""
    n, c, h, w = x.shape
    on = _pick(n, p, gen)
    d = torch.randint(-max_shift, max_shift + 1, (n, 2), generator=gen) * on[:, None]
    theta = torch.zeros(n, 2, 3, dtype=x.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, 0, 2] = d[:, 0].to(x.dtype) * 2 / w
    theta[:, 1, 2] = d[:, 1].to(x.dtype) * 2 / h
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="border", align_corners=False)


def affine(x, gen, p=0.8, degrees=10.0, scale=(0.9, 1.1), translate=0.08):
    """Small rotations, zooms and shifts (for digits, whose items are few)."""
    n = x.shape[0]
    on = _pick(n, p, gen).to(x.dtype)
    angle = _uniform(n, -degrees, degrees, gen) * math.pi / 180 * on
    zoom = 1 + (_uniform(n, *scale, gen) - 1) * on
    t = _uniform(n * 2, -translate, translate, gen).reshape(n, 2) * 2 * on[:, None]
    theta = torch.zeros(n, 2, 3, dtype=x.dtype)
    theta[:, 0, 0] = torch.cos(angle) / zoom
    theta[:, 0, 1] = -torch.sin(angle) / zoom
    theta[:, 1, 0] = torch.sin(angle) / zoom
    theta[:, 1, 1] = torch.cos(angle) / zoom
    theta[:, :, 2] = t
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def grayscale(x, gen, p=0.1):
    if x.shape[1] != 3:
        return x
    on = _pick(x.shape[0], p, gen)[:, None, None, None].to(x.dtype)
    luma = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype)[None, :, None, None]
    gray = (x * luma).sum(dim=1, keepdim=True).expand_as(x)
    return x + on * (gray - x)


def artifacts(x: torch.Tensor, gen: torch.Generator, geometric: bool = False) -> torch.Tensor:
    """The full chain used in training; ``geometric`` adds rotations/zooms (digits)."""
    if geometric:
        x = affine(x, gen)
    x = shift(x, gen)
    x = colour_jitter(x, gen)
    x = grayscale(x, gen)
    x = blockiness(x, gen)
    x = blur(x, gen)
    x = checkerboard(x, gen)
    x = noise(x, gen)
    x = quantize(x, gen)
    return x.clamp(-1.0, 1.0)
