"""DiffAugment (Zhao et al. 2020): differentiable colour, translation and cutout augmentations.

Applied to real *and* fake images, in the D step and the G step, so D never sees an
un-augmented image and G's gradient flows through the same transform. All randomness comes
from the ``torch.Generator`` passed in, which the loop keys by (seed, rank, step): a resumed
run draws the same augmentations.
"""

from __future__ import annotations

import torch


def diff_augment(x: torch.Tensor, policy: tuple[str, ...], generator: torch.Generator) -> torch.Tensor:
    """x: (N, C, H, W) in [-1, 1] -> same shape, augmented per sample in the order given."""
    for name in policy:
        x = _AUGMENTS[name](x, generator)
    return x


def _rand(n: int, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(n, 1, 1, 1, generator=generator, device=x.device, dtype=x.dtype)


def color(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    x = x + (_rand(n, x, generator) - 0.5)  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(n, x, generator) * 2) + mean  # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(n, x, generator) + 0.5) + mean  # contrast


def translation(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its size, filling with zeros (mid-grey)."""
    n, c, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = torch.randint(-sh, sh + 1, (n, 1, 1), generator=generator, device=x.device)
    tx = torch.randint(-sw, sw + 1, (n, 1, 1), generator=generator, device=x.device)
    gy = torch.arange(h, device=x.device).view(1, h, 1) + ty  # (N, H, 1) source row of each output row
    gx = torch.arange(w, device=x.device).view(1, 1, w) + tx  # (N, 1, W)
    inside = ((gy >= 0) & (gy < h) & (gx >= 0) & (gx < w)).to(x.dtype)  # (N, H, W)
    index = (gy.clamp(0, h - 1) * w + gx.clamp(0, w - 1)).view(n, 1, h * w).expand(n, c, h * w)
    shifted = x.reshape(n, c, h * w).gather(2, index).view(n, c, h, w)
    return shifted * inside[:, None]


def cutout(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of ``ratio`` times the image size per image, anywhere (partly outside allowed)."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), generator=generator, device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), generator=generator, device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    top, left = cy - ch // 2, cx - cw // 2
    hole = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)  # (N, H, W)
    return x * (~hole).to(x.dtype)[:, None]


_AUGMENTS = {"color": color, "translation": translation, "cutout": cutout}
