"""The float -> uint8 mapping on a torch device, for runners that convert where the images are.

Equal bit for bit to :func:`ganedge.images.to_uint8_reference` (tested on CPU and on real CUDA
hardware): the same float32 scale and offset, multiply then add (two roundings, never an FMA),
floor, clamp, cast.
"""

from __future__ import annotations

from ganedge.images import uint8_affine

__all__ = ["torch_uint8_nhwc", "uint8_affine"]


def torch_uint8_nhwc(images, scale: float = 127.5, offset: float = 128.0):
    """float (N, C, H, W) tensor -> uint8 (N, H, W, C) on the same device. ``scale``/``offset`` come from
    :func:`ganedge.images.uint8_affine` of the model's output range (the defaults are [-1, 1]'s)."""
    import torch

    y = images.to(torch.float32) * float(scale)
    y.add_(float(offset)).floor_().clamp_(0.0, 255.0)
    return y.to(torch.uint8).permute(0, 2, 3, 1).contiguous()
