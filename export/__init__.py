"""ganedge.export: a trained generator -> validated ONNX files, and the tools around them.

The pipeline (``pipeline.export_onnx``) is small steps, each usable alone:
``torch_export`` (trace) -> ``check`` (checker, I/O contract) -> ``rewrite`` (sub-pixel
ConvTranspose) -> ``precision`` (fp16, int8) -> ``validate`` (+ ``quality`` for FD) -> write.
Around it: ``lint`` (TensorRT parser compatibility), ``flops`` (FLOPs per sample, with ``graph_shapes``
and ``layout_shapes`` working out shapes without onnx), ``describe``
(``ganedge inspect``), ``verify`` (``ganedge verify``), ``compare`` (error statistics), ``settings`` (per-architecture opset, gates and int8 policy),
``triton``/``triton_config`` (``ganedge export triton``) and ``trt`` (``ganedge export trt``). For
generators trained elsewhere: ``module_api`` (``export_module``, ``save_weights``), ``batching``
(dynamic or fixed batch), ``fp16_fallback`` (mixed precision when plain fp16 fails) and ``adopt``
(foreign ONNX files). The
formats themselves (manifest, ONNX metadata, the ONNX safety scan, TensorRT sidecars) live in
``ganedge.artifacts``; validation runs models through the SDK's onnxruntime session factory. Speed is the
bench's job: ``ganedge bench a.onnx a.int8.onnx`` times variants side by side.

Importing this package imports nothing heavy; torch, onnx and onnxruntime load inside the
functions that need them.
"""

from ganedge.export.module_api import export_module, save_weights

__all__ = ["export_module", "save_weights"]
