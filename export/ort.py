"""onnxruntime sessions for export-time work: validation, calibration checks, the speed table.

The SDK has its own runner; this is the small CPU-only piece export needs without it.
"""

from __future__ import annotations

import os

import numpy as np

from ganedge.errors import ArtifactError

from ganedge.export.torch_export import INPUT_LABEL, INPUT_Z


def cpu_session(model_or_path, threads: int | None = None):
    """An onnxruntime CPU session for a ModelProto, serialized bytes or a checked file path."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: the quantizer's models trigger harmless layout notices
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    if hasattr(model_or_path, "SerializeToString"):
        source = model_or_path.SerializeToString()
    elif isinstance(model_or_path, (bytes, bytearray)):
        source = bytes(model_or_path)
    else:
        source = os.fspath(model_or_path)
    try:
        return ort.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArtifactError(f"onnxruntime cannot load the model: {first}") from None


def feed(z: np.ndarray, labels: np.ndarray | None) -> dict[str, np.ndarray]:
    inputs = {INPUT_Z: np.ascontiguousarray(z, dtype=np.float32)}
    if labels is not None:
        inputs[INPUT_LABEL] = np.ascontiguousarray(labels, dtype=np.int64)
    return inputs


def run_batches(session, z: np.ndarray, labels: np.ndarray | None, batch_size: int) -> np.ndarray:
    """Run ``session`` over ``z`` in chunks of ``batch_size``; float32 (N, C, H, W)."""
    chunks = []
    for start in range(0, len(z), batch_size):
        stop = start + batch_size
        chunks.append(session.run(None, feed(z[start:stop], None if labels is None else labels[start:stop]))[0])
    return np.concatenate(chunks).astype(np.float32, copy=False)
