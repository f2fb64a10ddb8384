"""Backends: one folder per runtime, each a ``loader`` (turn an artifact into something ready to run:
sessions, providers, engines, modules, checks) and a ``runner`` (run it) behind :class:`base.Runner`.

The Generator (``ganedge.sdk.generator``) owns seeds, latents, batching, the NaN/Inf check and the
float -> uint8 conversion; a runner only maps a float32 latent batch to float32 images, unless it
``converts_on_device`` (torch and TensorRT on CUDA), in which case its ``run_uint8`` does the same
conversion where the images are and copies uint8 back once.
"""

#: Every backend ``ganedge.sdk.load`` knows, in the order the CLI lists them.
BACKEND_NAMES = ("onnxruntime", "openvino", "tensorrt", "torch")
#: The optional packages each backend imports (``ganedge.extras`` says which extra brings each).
BACKEND_MODULES = {"onnxruntime": ("onnxruntime",), "openvino": ("openvino",), "tensorrt": ("tensorrt", "torch"),
                   "torch": ("torch",)}
#: What ``backend=`` accepts: a backend name or "auto".
BACKEND_CHOICES = ("auto", *BACKEND_NAMES)
