"""onnxruntime backend: ``loader`` (the session factory, providers, I/O check) and ``runner``."""
