"""TensorRT backend: ``loader`` (TensorRT, the GPU's facts, sidecar checks, deserialisation) and ``runner``."""
