"""A generator that is fine in float32 and breaks in a naive float16 conversion.

The stem projects z with large weights (think of a projection trained without weight decay)
and then normalises every sample to unit root-mean-square (StyleGAN's pixel norm), so float32
never notices the scale: the pre-activations have a standard deviation near 8000, their squares
near 6.4e7. float16 tops out at 65504: ``h.square()`` overflows to Inf, the mean is Inf, the
reciprocal square root is 0, and every sample becomes the same flat image (or NaN where an Inf
meets a 0). Everything after the stem is an ordinary upsample + conv decoder that fp16 runs fine.

The offending part is a handful of ONNX nodes (the projection's MatMul/Gemm and Add, then Mul
(square), ReduceMean, Add (eps), Sqrt, Reciprocal, Mul): a node-level mixed-precision fallback
that keeps those in float32 restores the image. Weight magnitudes stay below 1e4, so a float16
converter's initializer clamp (onnxconverter-common's default ``max_finite_val=1e4``) does not
change them: the overflow is in the activations, where a real model's would be.

Caution, measured with onnxruntime 1.32 on x86: its CPU provider has no float16 kernels for
Gemm/Pow/ReduceMean/Conv/..., runs them in float32 and drops the float16 round trips between
them, so the naive float16 graph of :func:`build_generator` looks fine on CPU (PSNR ~77 dB)
while torch's float16 and any float16 GPU return flat images. A CPU gate sees this overflow
only if it emulates float16 storage between nodes.

:func:`build_generator_weight_range` is the other classic float16 failure, visible on any
runtime: the stem stores its weights 200x larger (std 2e5) and scales them down at run time
(an equalized-learning-rate layer with a small gain), so most stored weights exceed 65504 and a
float16 converter clamps them (to 65504, or to 1e4 with onnxconverter-common's default): the
images change (PSNR far below 40 dB), nothing is NaN. Keeping the weight-scaling Mul (and the
Gemm) in float32 restores them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LATENT_DIM = 64
STEM_CHANNELS = 64
DECODER = (64, 32, 32)  # channels at 8, 16 and 32
STEM_WEIGHT_STD = 1000.0  # pre-activation std ~ STEM_WEIGHT_STD * sqrt(LATENT_DIM) = 8000
STORED_SCALE = 200.0  # build_generator_weight_range: stored weights std 2e5, run-time gain 1/200
SEED = 65504


class LargeScaleStem(nn.Module):
    """z -> (N, C, 4, 4): a large-scale projection, then the per-sample normalisation fp16 cannot compute.

    ``stored_scale`` > 1 stores the weights that many times larger and divides at run time.
    """

    def __init__(self, latent_dim: int, channels: int, stored_scale: float = 1.0):
        super().__init__()
        self.channels = channels
        self.weight = nn.Parameter(torch.randn(channels * 16, latent_dim) * (STEM_WEIGHT_STD * stored_scale))
        self.bias = nn.Parameter(torch.zeros(channels * 16))
        self.weight_gain = 1.0 / stored_scale

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        weight = self.weight if self.weight_gain == 1 else self.weight * self.weight_gain
        h = F.linear(z, weight, self.bias)  # (N, 16C), std ~8000: representable in fp16, its square is not
        h = h * torch.rsqrt(h.square().mean(dim=1, keepdim=True) + 1e-8)  # unit RMS per sample
        return h.view(z.shape[0], self.channels, 4, 4)


class UpConv(nn.Module):
    """Nearest x2 -> 3x3 conv with run-time weight gain (equalized lr) -> bias + lrelu * sqrt(2)."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, 3, 3))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        self.gain = 1.0 / math.sqrt(in_ch * 9)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = F.conv2d(x, self.weight * self.gain, self.bias, padding=1)
        return F.leaky_relu(x, 0.2) * math.sqrt(2.0)


class Fp16OverflowGenerator(nn.Module):
    """z (N, latent_dim) -> image (N, 3, 32, 32) in [-1, 1]; float16 overflows in the stem."""

    def __init__(self, latent_dim: int = LATENT_DIM, stored_scale: float = 1.0):
        super().__init__()
        self.latent_dim = latent_dim
        self.stem = LargeScaleStem(latent_dim, STEM_CHANNELS, stored_scale)
        chans = (STEM_CHANNELS, *DECODER)
        self.ups = nn.Sequential(*(UpConv(a, b) for a, b in zip(chans[:-1], chans[1:])))
        self.to_rgb = nn.Conv2d(chans[-1], 3, 1)
        with torch.no_grad():
            self.to_rgb.weight.normal_(0.0, 0.5 / math.sqrt(chans[-1]))
            self.to_rgb.bias.zero_()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.to_rgb(self.ups(self.stem(z))))  # (N, 3, 32, 32)


def _build(stored_scale: float) -> Fp16OverflowGenerator:
    with torch.random.fork_rng(devices=[]):  # a fixed init that leaves the caller's RNG alone
        torch.manual_seed(SEED)
        g = Fp16OverflowGenerator(stored_scale=stored_scale)
    return g.eval()


def build_generator() -> Fp16OverflowGenerator:
    """The module-reference entry point: ``fp16_overflow.py:build_generator`` (activation overflow)."""
    return _build(1.0)


def build_generator_weight_range() -> Fp16OverflowGenerator:
    """``fp16_overflow.py:build_generator_weight_range``: the same images, stored weights beyond float16's range."""
    return _build(STORED_SCALE)
