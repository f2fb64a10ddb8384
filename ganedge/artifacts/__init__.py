"""ganedge.artifacts: the formats ganedge writes and reads, owned by neither the runtime nor the exporter.

``manifest`` (the manifest dataclass), ``onnx_meta`` (I/O names and the manifest in ONNX metadata),
``onnx_safety`` (a pure-Python protobuf scan that refuses unsafe ONNX files), ``run_config`` and
``run_dir`` (a training run's config.json and checkpoint files), ``trt_profile`` and ``trt_sidecar``
(TensorRT batch profiles, the ``<engine>.json`` sidecar and the rule for when an engine may run).

Only core modules lie below this layer; sdk, train, export and everything above read artifacts
through it. Nothing here imports torch, onnx, onnxruntime or tensorrt at module import.
"""
