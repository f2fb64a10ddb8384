"""ganedge.sdk — the runtime applications embed.

    from ganedge import sdk
    g = sdk.load("model.onnx")
    images = g.sample(16, seed=0)      # uint8 (16, H, W, C)

Importing this package never imports torch, onnx or onnxruntime; backends load their
dependencies when an artifact is loaded.
"""

from ganedge.latents import latents

__all__ = ["latents"]
