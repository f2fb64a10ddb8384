"""ganedge.sdk — the runtime applications embed.

    from ganedge import sdk
    g = sdk.load("model.onnx")             # .onnx | .engine/.plan | run directory
    images = g.sample(16, seed=0)          # uint8 (16, H, W, C), seeds 0..15
    with sdk.Batcher(g, max_batch=64) as batcher:
        image = batcher.image(seed=42)     # uint8 (H, W, C), from any thread; batched with its neighbours

Importing this package never imports torch, onnx or onnxruntime; backends load their
dependencies when an artifact is loaded, and sampling an ONNX file never imports torch.
"""

from ganedge.latents import latents
from ganedge.artifacts.manifest import Manifest
from ganedge.sdk.batcher import Batcher, BatcherStats
from ganedge.sdk.generator import Generator
from ganedge.sdk.backends import BACKEND_CHOICES as BACKENDS
from ganedge.sdk.loader import load

__all__ = ["BACKENDS", "Batcher", "BatcherStats", "Generator", "Manifest", "latents", "load"]
