"""ganedge: train a GAN, export its generator, sample it fast inside applications.

The top-level package stays framework-free: importing it (or ganedge.sdk)
never imports torch, onnx or onnxruntime.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
