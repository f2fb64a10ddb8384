"""ganedge.export: a trained generator -> validated ONNX files, and the tools around them.

The pipeline (``pipeline.export_onnx``) is small steps, each usable alone:
``torch_export`` (trace) -> ``check`` (checker, I/O contract) -> ``rewrite`` (sub-pixel
ConvTranspose) -> ``precision`` (fp16, int8) -> ``validate`` (+ ``quality`` for FD) -> write.
Around it: ``lint`` (TensorRT parser compatibility), ``flops`` (FLOPs per sample), ``describe``
(``ganedge inspect``), ``verify`` (``ganedge verify``), ``compare`` (error statistics), ``speed``
(side-by-side images/s), ``settings`` (per-architecture opset, gates and int8 policy),
``triton``/``triton_config`` (``ganedge export triton``) and ``trt`` (``ganedge export trt``). The
formats themselves (manifest, ONNX metadata, the ONNX safety scan, TensorRT sidecars) live in
``ganedge.artifacts``; validation runs models through the SDK's onnxruntime session factory.

Importing this package imports nothing heavy; torch, onnx and onnxruntime load inside the
functions that need them.
"""
