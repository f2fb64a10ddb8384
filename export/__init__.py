"""ganedge.export: a trained generator -> validated ONNX files, and the tools around them.

The pipeline (``pipeline.export_onnx``) is small steps, each usable alone:
``torch_export`` (trace) -> ``check`` (checker, I/O contract) -> ``rewrite`` (sub-pixel
ConvTranspose) -> ``precision`` (fp16, int8) -> ``validate`` (+ ``quality`` for FD) -> write.
Around it: ``safety`` (refuse unsafe ONNX files; no onnx needed), ``lint`` (TensorRT parser
compatibility), ``flops`` (FLOPs per sample), ``describe`` (``ganedge inspect``), ``verify``
(``ganedge verify``), ``compare`` (error statistics) and ``settings`` (per-architecture opset,
gates and int8 policy). Speed is the bench's job: ``ganedge bench a.onnx a.int8.onnx`` times
variants side by side.

Importing this package imports nothing heavy; torch, onnx and onnxruntime load inside the
functions that need them.
"""
