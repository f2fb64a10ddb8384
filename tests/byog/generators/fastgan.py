"""A small FastGAN-style generator (Liu et al. 2021, "Towards Faster and Stabilized GAN Training").

The published design at 64x64 and narrow widths:

- z (N, nz) viewed as (N, nz, 1, 1) -> ConvTranspose 4x4 -> BatchNorm -> GLU: the 4x4 map;
- up-blocks: nearest upsample x2 -> 3x3 conv to 2*C -> BatchNorm -> GLU (the "comp" blocks do it twice);
- skip-layer excitation (SLE): a low-resolution feature, adaptively pooled to 4x4 -> 4x4 conv ->
  swish -> 1x1 conv -> sigmoid, gates the channels of a high-resolution feature;
- final 3x3 conv -> tanh. Convolutions carry spectral norm through ``torch.nn.utils.spectral_norm``
  (the older hook-based form FastGAN uses), weights initialised N(0, 0.02) as FastGAN does.

FastGAN's own noise injection draws ``torch.randn`` inside forward; it is left out here (the
generator of ``noise_in_forward.py`` covers that case). BatchNorm running statistics are set the
way training leaves them (see :func:`calibrate_batchnorm`), so eval-mode images are not degenerate.
"""

from __future__ import annotations

import torch
from torch import nn

try:  # imported as the package tests.byog.generators
    from .calibration import calibrate_batchnorm
except ImportError:  # loaded by file path as FILE.py:NAME: its folder is on sys.path, as when a user runs it
    from calibration import calibrate_batchnorm

LATENT_DIM = 64
NFC = {4: 64, 8: 32, 16: 32, 32: 16, 64: 8}  # channels per resolution
SEED = 2021


def sn_conv(*args, **kwargs) -> nn.Module:
    return nn.utils.spectral_norm(nn.Conv2d(*args, **kwargs))


def sn_conv_transpose(*args, **kwargs) -> nn.Module:
    return nn.utils.spectral_norm(nn.ConvTranspose2d(*args, **kwargs))


class Swish(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


class InitLayer(nn.Module):
    """(N, nz) -> (N, C, 4, 4)."""

    def __init__(self, nz: int, channels: int):
        super().__init__()
        self.init = nn.Sequential(sn_conv_transpose(nz, channels * 2, 4, 1, 0, bias=False),
                                  nn.BatchNorm2d(channels * 2), nn.GLU(dim=1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.init(z.view(z.shape[0], -1, 1, 1))


def up_block(in_ch: int, out_ch: int) -> nn.Sequential:
    """Nearest x2 -> conv to 2*out -> BN -> GLU (which halves the channels back to out)."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), sn_conv(in_ch, out_ch * 2, 3, 1, 1, bias=False),
                         nn.BatchNorm2d(out_ch * 2), nn.GLU(dim=1))


def up_block_comp(in_ch: int, out_ch: int) -> nn.Sequential:
    """The heavier up-block: two conv-BN-GLU stages after the upsample."""
    return nn.Sequential(up_block(in_ch, out_ch), sn_conv(out_ch, out_ch * 2, 3, 1, 1, bias=False),
                         nn.BatchNorm2d(out_ch * 2), nn.GLU(dim=1))


class SkipLayerExcitation(nn.Module):
    """Channel gates for a high-resolution feature computed from a low-resolution one."""

    def __init__(self, ch_small: int, ch_big: int):
        super().__init__()
        self.main = nn.Sequential(
            nn.AdaptiveAvgPool2d(4), sn_conv(ch_small, ch_big, 4, 1, 0, bias=False), Swish(),
            sn_conv(ch_big, ch_big, 1, 1, 0, bias=False), nn.Sigmoid())  # (N, ch_big, 1, 1)

    def forward(self, feat_small: torch.Tensor, feat_big: torch.Tensor) -> torch.Tensor:
        return feat_big * self.main(feat_small)


class FastGANGenerator(nn.Module):
    """z (N, latent_dim) -> image (N, 3, 64, 64) in [-1, 1]."""

    def __init__(self, latent_dim: int = LATENT_DIM, nfc: dict[int, int] | None = None):
        super().__init__()
        nfc = dict(nfc or NFC)
        self.latent_dim = latent_dim
        self.init = InitLayer(latent_dim, nfc[4])
        self.feat_8 = up_block_comp(nfc[4], nfc[8])
        self.feat_16 = up_block(nfc[8], nfc[16])
        self.feat_32 = up_block_comp(nfc[16], nfc[32])
        self.feat_64 = up_block(nfc[32], nfc[64])
        self.se_32 = SkipLayerExcitation(nfc[4], nfc[32])
        self.se_64 = SkipLayerExcitation(nfc[8], nfc[64])
        self.to_rgb = nn.Sequential(sn_conv(nfc[64], 3, 3, 1, 1, bias=False), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        feat_4 = self.init(z)  # (N, C, 4, 4)
        feat_8 = self.feat_8(feat_4)
        feat_16 = self.feat_16(feat_8)
        feat_32 = self.se_32(feat_4, self.feat_32(feat_16))
        feat_64 = self.se_64(feat_8, self.feat_64(feat_32))  # (N, C, 64, 64)
        return self.to_rgb(feat_64)


def fastgan_init(module: nn.Module) -> None:
    """FastGAN's weights_init: conv weights N(0, 0.02); BatchNorm gains N(1, 0.02), biases 0."""
    name = type(module).__name__
    if "Conv" in name:
        weight = getattr(module, "weight_orig", module.weight)  # spectral norm keeps the raw weight here
        nn.init.normal_(weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def build_generator() -> FastGANGenerator:
    """The module-reference entry point: ``fastgan.py:build_generator`` (eval mode, fixed init)."""
    with torch.random.fork_rng(devices=[]):  # a fixed init that leaves the caller's RNG alone
        torch.manual_seed(SEED)
        g = FastGANGenerator()
        g.apply(fastgan_init)
        with torch.no_grad():  # training grows the last gains: with N(1, 0.02) images have std ~0.1, not ~0.4
            g.feat_64[2].weight.mul_(4.0)
        calibrate_batchnorm(g, lambda: (torch.randn(32, g.latent_dim),))
    return g.eval()
