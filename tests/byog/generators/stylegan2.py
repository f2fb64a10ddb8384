"""A small StyleGAN2-style generator (Karras et al. 2020), written the way the public ports write it.

What makes it a realistic export test, all in the reference style of the official and
rosinality ports:

- mapping MLP with equalized learning rate (weights stored as N(0, 1) / lr_mul and scaled at
  run time) after a pixel norm of z;
- truncation toward a ``w_avg`` buffer with ``torch.lerp`` (psi 0.7);
- a learned 4x4 constant input;
- per-layer modulated + demodulated 3x3 convolutions in the *fused* form: the weights are
  scaled per sample and the batch is folded into the channels, ``x`` becomes
  ``(1, batch * C, H, W)`` and ONE grouped convolution runs with ``groups = batch``. Upsampling
  layers use the grouped *transposed* convolution (stride 2) followed by a [1, 3, 3, 1] blur.
  This is the pattern that cannot have a dynamic batch in ONNX (the group count is an attribute);
  ``build_generator_int_batch`` adds NVlabs' ``batch_size = int(batch_size)`` before the grouped
  conv, which makes torch.export itself specialize the batch;
- per-layer noise stored as fixed buffers (noise_mode="const") times a learned strength;
- bias + leaky ReLU(0.2) times sqrt(2) (the reference version of the fused ``bias_act`` op);
- ToRGB (modulated 1x1, no demodulation) at every resolution, summed with the upsampled image
  of the previous resolution (the "skip" architecture).

No tanh at the end, as in StyleGAN2: a few pixels may fall outside [-1, 1].
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LATENT_DIM = 64
W_DIM = 64
RESOLUTION = 32
CHANNELS = {4: 64, 8: 64, 16: 32, 32: 32}  # feature maps per resolution
MAPPING_LAYERS = 4
TRUNCATION_PSI = 0.7
SEED = 1234
SQRT2 = math.sqrt(2.0)


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Pixel norm of the latent: each row scaled to unit root-mean-square."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


def bias_lrelu(x: torch.Tensor, bias: torch.Tensor, gain: float = SQRT2) -> torch.Tensor:
    """Reference version of StyleGAN2's fused bias_act(act='lrelu'): add bias, leaky ReLU(0.2), times gain."""
    shape = [1, -1] + [1] * (x.dim() - 2)
    return F.leaky_relu(x + bias.reshape(shape), 0.2) * gain


class EqualLinear(nn.Module):
    """Fully connected layer with equalized learning rate (weight gain lr_mul / sqrt(fan_in) at run time)."""

    def __init__(self, in_features: int, out_features: int, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activation: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init)))
        self.weight_gain = lr_mul / math.sqrt(in_features)
        self.bias_gain = lr_mul
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight * self.weight_gain
        b = self.bias * self.bias_gain
        if not self.activation:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_lrelu(x.matmul(w.t()), b)


class MappingNetwork(nn.Module):
    """z -> w: pixel norm, then an MLP (lr multiplier 0.01, as StyleGAN2), then truncation toward w_avg."""

    def __init__(self, z_dim: int, w_dim: int, num_layers: int, truncation_psi: float):
        super().__init__()
        dims = [z_dim] + [w_dim] * num_layers
        self.layers = nn.ModuleList(
            EqualLinear(a, b, lr_mul=0.01, activation=True) for a, b in zip(dims[:-1], dims[1:]))
        self.truncation_psi = truncation_psi
        self.register_buffer("w_avg", torch.zeros(w_dim))  # tracked during training; set by the builder

    def untruncated(self, z: torch.Tensor) -> torch.Tensor:
        x = normalize_2nd_moment(z)
        for layer in self.layers:
            x = layer(x)
        return x  # (N, w_dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        w = self.untruncated(z)
        if self.truncation_psi != 1:
            w = torch.lerp(self.w_avg, w, self.truncation_psi)  # w_avg + psi * (w - w_avg)
        return w


class Blur(nn.Module):
    """Depthwise [1, 3, 3, 1] low-pass filter (upfirdn2d with padding), applied after a stride-2 transposed conv."""

    def __init__(self, channels: int, pad: tuple[int, int], gain: float = 1.0):
        super().__init__()
        k = torch.tensor([1.0, 3.0, 3.0, 1.0])
        k = torch.outer(k, k)
        k = k / k.sum() * gain
        self.register_buffer("kernel", k.expand(channels, 1, 4, 4).clone())
        self.pad = pad
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, [self.pad[0], self.pad[1], self.pad[0], self.pad[1]])
        return F.conv2d(x, self.kernel, groups=self.channels)


class ModulatedConv2d(nn.Module):
    """Modulated (and optionally demodulated) conv, fused into one grouped conv over the whole batch."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, w_dim: int, demodulate: bool = True,
                 upsample: bool = False, int_batch: bool = False):
        super().__init__()
        self.int_batch = int_batch
        self.in_ch, self.out_ch, self.kernel = in_ch, out_ch, kernel
        self.weight = nn.Parameter(torch.randn(1, out_ch, in_ch, kernel, kernel))
        self.weight_gain = 1.0 / math.sqrt(in_ch * kernel * kernel)
        self.affine = EqualLinear(w_dim, in_ch, bias_init=1.0)  # styles start around 1
        self.demodulate = demodulate
        self.upsample = upsample
        if upsample:
            self.blur = Blur(out_ch, pad=(1, 1), gain=4.0)  # (2H + 1) + 2 - 3 = 2H; gain 4 = factor**2

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        batch, in_ch, height, width = x.shape
        if self.int_batch:
            batch = int(batch)  # NVlabs: "this value will be treated as a constant" by tracers
        style = self.affine(w).view(batch, 1, in_ch, 1, 1)
        weight = self.weight * self.weight_gain * style  # (N, out, in, k, k)
        if self.demodulate:
            demod = torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + 1e-8)  # (N, out)
            weight = weight * demod.view(batch, self.out_ch, 1, 1, 1)
        x = x.reshape(1, batch * in_ch, height, width)  # the batch folded into the channels
        if self.upsample:
            weight = weight.transpose(1, 2).reshape(batch * in_ch, self.out_ch, self.kernel, self.kernel)
            out = F.conv_transpose2d(x, weight, padding=0, stride=2, groups=batch)  # (1, N*out, 2H+1, 2W+1)
            out = out.view(batch, self.out_ch, out.shape[-2], out.shape[-1])
            return self.blur(out)  # (N, out, 2H, 2W)
        weight = weight.view(batch * self.out_ch, in_ch, self.kernel, self.kernel)
        out = F.conv2d(x, weight, padding=self.kernel // 2, groups=batch)  # (1, N*out, H, W)
        return out.view(batch, self.out_ch, height, width)


class NoiseInjection(nn.Module):
    """Adds a fixed noise image (a buffer, StyleGAN's noise_mode='const') times a learned strength."""

    def __init__(self, resolution: int, strength: float):
        super().__init__()
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))
        self.strength = nn.Parameter(torch.tensor(float(strength)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.noise_const * self.strength


class StyledConv(nn.Module):
    """Modulated conv -> noise -> bias + lrelu * sqrt(2)."""

    def __init__(self, in_ch: int, out_ch: int, w_dim: int, resolution: int, upsample: bool = False,
                 int_batch: bool = False):
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, out_ch, 3, w_dim, upsample=upsample, int_batch=int_batch)
        self.noise = NoiseInjection(resolution, strength=0.1)
        self.bias = nn.Parameter(torch.zeros(out_ch))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return bias_lrelu(self.noise(self.conv(x, w)), self.bias)


class ToRGB(nn.Module):
    """Modulated 1x1 conv without demodulation, plus the upsampled image of the previous resolution."""

    def __init__(self, in_ch: int, w_dim: int, img_channels: int = 3, int_batch: bool = False):
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, img_channels, 1, w_dim, demodulate=False, int_batch=int_batch)
        self.bias = nn.Parameter(torch.zeros(img_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        rgb = self.conv(x, w) + self.bias.view(1, -1, 1, 1)
        if skip is not None:
            rgb = rgb + F.interpolate(skip, scale_factor=2.0, mode="bilinear", align_corners=False)
        return rgb


class StyleGAN2Generator(nn.Module):
    """z (N, latent_dim) -> image (N, 3, RESOLUTION, RESOLUTION), roughly in [-1, 1]."""

    def __init__(self, latent_dim: int = LATENT_DIM, w_dim: int = W_DIM, resolution: int = RESOLUTION,
                 channels: dict[int, int] | None = None, truncation_psi: float = TRUNCATION_PSI,
                 int_batch: bool = False):
        super().__init__()
        channels = dict(channels or CHANNELS)
        self.latent_dim = latent_dim
        self.mapping = MappingNetwork(latent_dim, w_dim, MAPPING_LAYERS, truncation_psi)
        self.const = nn.Parameter(torch.randn(1, channels[4], 4, 4))
        self.conv_first = StyledConv(channels[4], channels[4], w_dim, 4, int_batch=int_batch)
        self.rgb_first = ToRGB(channels[4], w_dim, int_batch=int_batch)
        self.ups, self.convs, self.rgbs = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        res = 8
        while res <= resolution:
            c_in, c_out = channels[res // 2], channels[res]
            self.ups.append(StyledConv(c_in, c_out, w_dim, res, upsample=True, int_batch=int_batch))
            self.convs.append(StyledConv(c_out, c_out, w_dim, res, int_batch=int_batch))
            self.rgbs.append(ToRGB(c_out, w_dim, int_batch=int_batch))
            res *= 2

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        w = self.mapping(z)  # (N, w_dim); every layer gets the same w (no style mixing at inference)
        x = self.const.repeat(z.shape[0], 1, 1, 1)  # (N, C4, 4, 4)
        x = self.conv_first(x, w)
        img = self.rgb_first(x, w, None)  # (N, 3, 4, 4)
        for up, conv, rgb in zip(self.ups, self.convs, self.rgbs):
            x = conv(up(x, w), w)  # (N, C, 2H, 2W)
            img = rgb(x, w, img)
        return img


@torch.no_grad()
def _trained_like(g: StyleGAN2Generator, samples: int = 2048) -> None:
    """Set what training would have set: w_avg (the mean w), and a ToRGB scale that keeps most pixels in [-1, 1]."""
    gen = torch.Generator().manual_seed(SEED + 1)
    g.mapping.w_avg.copy_(g.mapping.untruncated(torch.randn(samples, g.latent_dim, generator=gen)).mean(0))
    for to_rgb in [g.rgb_first, *g.rgbs]:
        to_rgb.conv.weight.mul_(0.25)


def _build(int_batch: bool) -> StyleGAN2Generator:
    with torch.random.fork_rng(devices=[]):  # a fixed init that leaves the caller's RNG alone
        torch.manual_seed(SEED)
        g = StyleGAN2Generator(int_batch=int_batch)
        _trained_like(g)
    return g.eval()


def build_generator() -> StyleGAN2Generator:
    """The module-reference entry point: ``stylegan2.py:build_generator`` (eval mode, fixed init)."""
    return _build(int_batch=False)


def build_generator_int_batch() -> StyleGAN2Generator:
    """``stylegan2.py:build_generator_int_batch``: the same weights and images, batch made a Python int
    before each grouped conv, as NVlabs' code does."""
    return _build(int_batch=True)
