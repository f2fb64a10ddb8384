"""OpenVINO runner: runs a model compiled by :mod:`.loader` on the CPU.

Thread safety. A compiled model may serve many infer requests at once, but one request serves one
call at a time. The runner keeps a pool of idle requests: a call takes one (or creates one when
all are busy), runs it synchronously (OpenVINO releases the GIL meanwhile) and puts it back, so
the pool grows to the largest number of concurrent callers and survives threads that come and go
(a per-thread request would die with each short-lived server thread).

Outputs are copied out of the request (``share_outputs=False``): the caller owns them and the
Generator converts them to uint8 in place. Inputs are shared, not copied (``share_inputs=True``);
the call does not return before the request is done with them.

Batch sizes. A dynamic-batch graph is compiled once with its dynamic batch; OpenVINO keeps its
kernels per shape. A fixed-batch graph is split and padded (:func:`..base.run_fixed_batch`).
"""

from __future__ import annotations

import os
import queue
from typing import Any

import numpy as np

from ganedge.artifacts.manifest import Manifest
from ganedge.errors import ClosedError
from ganedge.sdk.backends.base import Runner, run_fixed_batch
from ganedge.sdk.backends.openvino.loader import load_model, openvino_version
from ganedge.sdk.labels import one_hot


class OpenVinoRunner(Runner):
    name = "openvino"

    def __init__(self, path: str | os.PathLike, manifest: Manifest | None = None, device: str = "cpu",
                 threads: int | None = None, **options: Any):
        """``options``: those of :func:`.loader.load_model` (precision, performance_hint, config)."""
        loaded = self._loaded = load_model(path, manifest, device, threads, **options)
        super().__init__(loaded.manifest)
        self.path, self._compiled, self._io = loaded.path, loaded.compiled, loaded.io
        self.device, self.threads = "cpu", loaded.threads
        self.inference_precision = loaded.inference_precision
        # int8 files run their quantized layers in int8 whatever the float hint: the row is an int8 one.
        self.precision = "int8" if self.manifest.precision == "int8" else loaded.inference_precision
        self.label_input = loaded.io.label_input
        self._idle: queue.SimpleQueue = queue.SimpleQueue()

    def _compiled_or_raise(self):
        compiled = self._compiled
        if compiled is None:
            raise ClosedError(f"the OpenVINO model for {self.path.name} was closed")
        return compiled

    def run(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        if self._io.fixed_batch:  # a graph exported at a fixed batch: chunks of it, the last padded
            return run_fixed_batch(self._run_once, z, labels, self._io.fixed_batch)
        return self._run_once(z, labels)

    def _feeds(self, z: np.ndarray, labels: np.ndarray | None) -> dict[str, np.ndarray]:
        io = self._io
        feeds = {io.z_name: np.ascontiguousarray(z, dtype=io.z_type)}
        if io.label_name is not None:
            if io.label_input == "onehot" and labels.ndim == 1:
                labels = one_hot(labels, self.manifest.num_classes)
            feeds[io.label_name] = np.ascontiguousarray(labels, dtype=io.label_type)
        return feeds

    def _run_once(self, z: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        compiled = self._compiled_or_raise()
        idle = self._idle
        try:
            request = idle.get_nowait()
        except queue.Empty:
            request = compiled.create_infer_request()
        try:
            out = request.infer(self._feeds(z, labels), share_inputs=True, share_outputs=False)[0]
        finally:
            idle.put(request)  # after close() this is the old pool, dropped with it
        return out if out.dtype == np.float32 else out.astype(np.float32)

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        loaded = self._loaded
        info.update(model=str(self.path), threads=self.threads, inference_precision=self.inference_precision,
                    model_precision=self.manifest.precision, requested_precision=loaded.requested_precision,
                    precision_reason=loaded.reason, performance_hint=loaded.performance_hint,
                    cpu=loaded.support.to_dict(), openvino=openvino_version())
        compiled = self._compiled
        if compiled is not None:
            info["streams"] = int(compiled.get_property("NUM_STREAMS"))
        if loaded.gate is not None:
            info["bf16_gate"] = loaded.gate.to_dict()
        if loaded.config:
            info["config"] = {k: str(v) for k, v in loaded.config.items()}
        if self._io.fixed_batch:
            info["fixed_batch"] = self._io.fixed_batch
        return info

    def close(self) -> None:
        # Calls already running hold their own request and finish normally.
        self._compiled = None
        self._idle = queue.SimpleQueue()
