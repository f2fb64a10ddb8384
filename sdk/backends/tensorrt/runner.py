"""TensorRT runner: runs a native engine built by ``ganedge export trt`` (loaded by :mod:`.loader`).

Device memory and streams come from torch (CUDA tensors, ``torch.cuda.Stream``,
``torch.cuda.CUDAGraph``), not pycuda or cuda-python: torch's caching allocator makes
per-call buffers nearly free, the float -> uint8 conversion is four torch kernels instead of
a hand-written CUDA kernel, and torch's graph capture works around ``execute_async_v3``
unchanged. The price is that this backend needs torch with CUDA next to tensorrt.

Execution: ``set_input_shape`` + ``set_tensor_address`` + ``execute_async_v3`` on a private
non-default stream, return values checked; ``run_uint8`` converts on the GPU
(:func:`ganedge.sdk.backends.pytorch.convert.torch_uint8_nhwc`), flags NaN/Inf there and copies
back once, so this runner ``converts_on_device``. Requests above the profile's MAX are split,
below its MIN padded (and trimmed). With ``cuda_graphs=True`` each batch size gets its own
execution context, static buffers and captured graph (engine + conversion): a graph bakes in
shapes and addresses, so one context per shape keeps every graph valid. Capture follows one
warm-up enqueue, as TensorRT requires.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ganedge.artifacts.manifest import Manifest
from ganedge.artifacts.trt_profile import BatchProfile
from ganedge.artifacts.trt_sidecar import sidecar_summary
from ganedge.errors import ArtifactError, BadInputError, ClosedError, GanEdgeError
from ganedge.sdk.backends.base import NonFiniteOutputError, Runner, pad_batch
from ganedge.sdk.backends.pytorch.convert import torch_uint8_nhwc, uint8_affine
from ganedge.sdk.backends.tensorrt.loader import load_engine

log = logging.getLogger("ganedge.sdk.tensorrt")

# TensorRT DataType member name -> torch dtype attribute name
_TORCH_DTYPES = {"FLOAT": "float32", "HALF": "float16", "BF16": "bfloat16", "INT32": "int32", "INT64": "int64",
                 "INT8": "int8", "UINT8": "uint8", "BOOL": "bool"}


class TensorRTExecutionError(GanEdgeError, RuntimeError):
    """TensorRT refused to set a shape, create a context or run an enqueue."""

    exit_code = 1


class _Captured:
    """One batch size's execution context, static buffers and CUDA graph."""

    def __init__(self, context, inputs: dict, output, result, bad, graph):
        self.context, self.inputs, self.output, self.result, self.bad, self.graph = (
            context, inputs, output, result, bad, graph)


class TensorRTRunner(Runner):
    name = "tensorrt"
    converts_on_device = True

    def __init__(self, engine_path: str | Path, manifest: Manifest | None = None, device: str = "cuda", *,
                 cuda_graphs: bool = False, max_graphs: int = 8):
        """``manifest``: describes the model instead of the sidecar's copy (see :func:`.loader.load_engine`)."""
        loaded = load_engine(engine_path, manifest, device)
        super().__init__(loaded.manifest)
        self._sidecar, self._compat, self._facts = loaded.sidecar, loaded.compat, loaded.facts
        self._trt, self._torch, self._logger = loaded.trt, loaded.torch, loaded.logger
        self._runtime, self._engine = loaded.runtime, loaded.engine
        self.precision = self.manifest.precision
        self.path = loaded.path
        self.cuda_graphs = bool(cuda_graphs)
        self.max_graphs = max(1, int(max_graphs))
        self._index = loaded.device_index
        self.device = f"cuda:{self._index}"
        self._lock = threading.Lock()
        self._graphs: OrderedDict[tuple[int, str], _Captured] = OrderedDict()
        self._graph_failure: str | None = None
        self._closed = False
        self._scale, self._offset = uint8_affine(self.manifest.output_range)
        torch = self._torch
        with torch.cuda.device(self._index):
            self._stream = torch.cuda.Stream(device=self._index)
            self._context = self._new_context()
        self._bind_io()
        self.profile = loaded.profile or self._engine_profile()
        self.max_batch = self.profile.max

    # --- setup -------------------------------------------------------------------------------

    def _new_context(self):
        context = self._engine.create_execution_context()
        if context is None:
            raise TensorRTExecutionError(f"TensorRT could not create an execution context for {self.path.name} "
                                         "(out of GPU memory?)")
        return context

    def _engine_profile(self) -> BatchProfile:
        """Profile 0's batch range, read from the engine itself (used when there is no sidecar)."""
        static = int(tuple(self._engine.get_tensor_shape(self._z_name))[0])
        if static > 0:  # a fixed-batch engine has no profile to ask
            return BatchProfile(static, static, static)
        shapes = self._engine.get_tensor_profile_shape(self._z_name, 0)  # [min, opt, max] shapes of z
        return BatchProfile(*(int(tuple(s)[0]) for s in shapes))

    def _bind_io(self) -> None:
        trt, torch, engine = self._trt, self._torch, self._engine
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if n not in inputs]
        m = self.manifest
        if sorted(inputs) != sorted(m.inputs) or m.output not in outputs:
            raise ArtifactError(f"{self.path.name} has inputs {inputs} and outputs {outputs}, but its manifest says "
                                f"inputs {list(m.inputs)} and output {m.output!r}; rebuild it with `ganedge export trt`")
        self._dtypes = {}
        for n in names:
            kind = getattr(engine.get_tensor_dtype(n), "name", str(engine.get_tensor_dtype(n)))
            if kind not in _TORCH_DTYPES:
                raise ArtifactError(f"{self.path.name}: tensor {n!r} has type {kind}, which ganedge cannot feed")
            self._dtypes[n] = getattr(torch, _TORCH_DTYPES[kind])
        self._z_name = m.inputs[0]
        self._label_name = m.inputs[1] if m.conditional and len(m.inputs) > 1 else None

    # --- inputs ------------------------------------------------------------------------------

    def _check(self, z: np.ndarray, labels: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        if self._closed:
            raise ClosedError(f"the TensorRT runner for {self.path.name} was closed")
        m = self.manifest
        z = np.asarray(z)
        if z.ndim != 2 or z.shape[1] != m.latent_dim:
            raise BadInputError(f"z must have shape (n, {m.latent_dim}), got {z.shape}")
        z = np.ascontiguousarray(z, dtype=np.float32)
        if self._label_name is None:
            if labels is not None:
                raise BadInputError("this model is unconditional; do not pass labels")
            return z, None
        if labels is None:
            raise BadInputError(f"this model is conditional ({m.num_classes} classes); pass labels")
        labels = np.asarray(labels)
        if labels.shape != (z.shape[0],) or labels.dtype.kind not in "iu":
            raise BadInputError(f"labels must be integers of shape ({z.shape[0]},), got {labels.dtype} {labels.shape}")
        if labels.size and (labels.min() < 0 or labels.max() >= m.num_classes):
            raise BadInputError(f"labels must lie in [0, {m.num_classes})")
        return z, np.ascontiguousarray(labels, dtype=np.int64)

    def _padded(self, z: np.ndarray, labels: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """Pad a batch below the profile's MIN with zero rows (their images are dropped after the run)."""
        return pad_batch(z, labels, self.profile.min)

    # --- execution ---------------------------------------------------------------------------

    def _set_shapes(self, context, n: int) -> tuple[int, ...]:
        m = self.manifest
        if not context.set_input_shape(self._z_name, (n, m.latent_dim)):
            raise TensorRTExecutionError(f"TensorRT refused batch {n} for {self.path.name} (profile {self.profile})")
        if self._label_name is not None and not context.set_input_shape(self._label_name, (n,)):
            raise TensorRTExecutionError(f"TensorRT refused label batch {n} for {self.path.name}")
        shape = tuple(context.get_tensor_shape(m.output))
        if shape != (n, *m.image_shape):
            raise ArtifactError(f"{self.path.name} outputs {shape}, but its manifest says (n, {', '.join(map(str, m.image_shape))})")
        return shape

    def _enqueue(self, context, inputs: dict, output) -> None:
        for name, tensor in [*inputs.items(), (self.manifest.output, output)]:
            if not context.set_tensor_address(name, tensor.data_ptr()):
                raise TensorRTExecutionError(f"TensorRT refused the buffer for {name!r} of {self.path.name}")
        if not context.execute_async_v3(self._stream.cuda_stream):
            detail = "; ".join(self._logger.errors[-2:]) or "no message from TensorRT"
            raise TensorRTExecutionError(f"TensorRT failed to run {self.path.name}: {detail}")

    def _device_inputs(self, z: np.ndarray, labels: np.ndarray | None) -> dict:
        torch, dev = self._torch, self._torch_device()
        inputs = {self._z_name: torch.from_numpy(z).to(dev).to(self._dtypes[self._z_name])}  # (n, latent)
        if self._label_name is not None:
            inputs[self._label_name] = torch.from_numpy(labels).to(dev).to(self._dtypes[self._label_name])  # (n,)
        return inputs

    def _torch_device(self):
        return self._torch.device("cuda", self._index)

    def _finish(self, output, kind: str):
        """(n, C, H, W) engine dtype -> (float32 (n, C, H, W), None), or (uint8 (n, H, W, C), NaN/Inf flag).

        The uint8 path must report NaN/Inf itself (after conversion they cannot be seen): the flag is a
        0-d bool on the GPU that travels back with the images.
        """
        torch = self._torch
        if kind == "float":
            return output.to(torch.float32), None
        return torch_uint8_nhwc(output, self._scale, self._offset), ~torch.isfinite(output).all()

    def _eager_buffers(self, z: np.ndarray, labels: np.ndarray | None) -> tuple[dict, Any]:
        """The shared context shaped for this batch, its inputs on the device and an empty output."""
        shape = self._set_shapes(self._context, z.shape[0])
        inputs = self._device_inputs(z, labels)
        output = self._torch.empty(shape, dtype=self._dtypes[self.manifest.output], device=self._torch_device())
        return inputs, output

    def _run_eager(self, z: np.ndarray, labels: np.ndarray | None, kind: str):
        inputs, output = self._eager_buffers(z, labels)
        self._enqueue(self._context, inputs, output)
        return (*self._finish(output, kind), output)

    def _capture(self, n: int, kind: str) -> _Captured:
        torch, dev = self._torch, self._torch_device()
        context = self._new_context()
        shape = self._set_shapes(context, n)
        m = self.manifest
        inputs = {self._z_name: torch.zeros((n, m.latent_dim), dtype=self._dtypes[self._z_name], device=dev)}
        if self._label_name is not None:
            inputs[self._label_name] = torch.zeros((n,), dtype=self._dtypes[self._label_name], device=dev)
        output = torch.empty(shape, dtype=self._dtypes[m.output], device=dev)
        self._enqueue(context, inputs, output)  # warm-up: TensorRT finishes shape-dependent setup outside the graph
        self._finish(output, kind)
        self._stream.synchronize()
        graph = torch.cuda.CUDAGraph()
        # thread_local: CUDA calls from other threads (other models in this process) do not break our capture.
        with torch.cuda.graph(graph, stream=self._stream, capture_error_mode="thread_local"):
            self._enqueue(context, inputs, output)
            result, bad = self._finish(output, kind)
        return _Captured(context, inputs, output, result, bad, graph)

    def _run_graph(self, z: np.ndarray, labels: np.ndarray | None, kind: str):
        key = (z.shape[0], kind)
        entry = self._graphs.get(key)
        if entry is None:
            try:
                entry = self._capture(*key)
            except TensorRTExecutionError:
                raise
            except Exception as exc:  # capture is an optimization: fall back to eager and say why
                self._graph_failure = f"CUDA graph capture failed for batch {key[0]} ({type(exc).__name__}: {exc})"
                log.warning("%s; running eagerly", self._graph_failure)
                self.cuda_graphs = False
                self._stream.synchronize()
                return self._run_eager(z, labels, kind)
            self._graphs[key] = entry
            while len(self._graphs) > self.max_graphs:
                self._graphs.popitem(last=False)  # frees that batch size's context, buffers and graph
        self._graphs.move_to_end(key)
        torch = self._torch
        entry.inputs[self._z_name].copy_(torch.from_numpy(z))  # H2D into the graph's static buffer
        if self._label_name is not None:
            entry.inputs[self._label_name].copy_(torch.from_numpy(labels))
        entry.graph.replay()
        return entry.result, entry.bad, entry.output

    @contextmanager
    def _engine_stream(self) -> Iterator[None]:
        """Our lock held, the runner checked open, and our GPU and stream current."""
        torch = self._torch
        with self._lock:
            if self._closed:
                raise ClosedError(f"the TensorRT runner for {self.path.name} was closed")
            with torch.cuda.device(self._index), torch.cuda.stream(self._stream):
                yield

    def _run_chunk(self, z: np.ndarray, labels: np.ndarray | None, kind: str) -> np.ndarray:
        n = z.shape[0]
        z, labels = self._padded(z, labels)
        torch = self._torch
        with self._engine_stream():
            if self.cuda_graphs:
                result, bad, output = self._run_graph(z, labels, kind)
            else:
                result, bad, output = self._run_eager(z, labels, kind)
            # One device-to-host copy on our stream; .cpu() waits for it (and so for the engine).
            host = result[:n].cpu().numpy()
            if bad is not None and bool(bad):  # rare path: name the rows from the float output
                rows = torch.nonzero(~torch.isfinite(output[:n].flatten(1)).all(dim=1)).flatten().tolist()
                raise NonFiniteOutputError(f"{self.path.name} produced NaN/Inf", [int(r) for r in rows])
            return host

    def _run(self, z: np.ndarray, labels: np.ndarray | None, kind: str) -> np.ndarray:
        z, labels = self._check(z, labels)
        n = z.shape[0]
        if n == 0:
            c, h, w = self.manifest.image_shape
            return np.empty((0, c, h, w), np.float32) if kind == "float" else np.empty((0, h, w, c), np.uint8)
        step = self.profile.max
        parts = [self._run_chunk(z[i:i + step], None if labels is None else labels[i:i + step], kind)
                 for i in range(0, n, step)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def device_compute_ms(self, z: np.ndarray, labels: np.ndarray | None = None) -> float:
        """Milliseconds of one ``execute_async_v3`` for this batch, timed with CUDA events on our
        stream (inputs uploaded before the first event, nothing copied back). For ``ganedge bench``;
        the batch must fit the engine's profile."""
        z, labels = self._check(z, labels)
        if not 0 < z.shape[0] <= self.profile.max:
            raise BadInputError(f"device_compute_ms times one engine call: batch {z.shape[0]} is outside "
                                f"{self.path.name}'s profile (max {self.profile.max})")
        z, labels = self._padded(z, labels)
        torch = self._torch
        with self._engine_stream():
            inputs, output = self._eager_buffers(z, labels)
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record(self._stream)
            self._enqueue(self._context, inputs, output)
            end.record(self._stream)
            end.synchronize()
        return start.elapsed_time(end)

    # --- Runner interface --------------------------------------------------------------------

    def run(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """float32 (n, latent_dim) [+ int labels] -> float32 (n, C, H, W); any n (split/padded to the profile)."""
        return self._run(z, labels, "float")

    def run_uint8(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """Like :meth:`run`, converted to uint8 (n, H, W, C) on the GPU and copied back once."""
        return self._run(z, labels, "uint8")

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(engine=str(self.path), gpu=self._facts.gpu_name, compute_capability=self._facts.compute_capability,
                    tensorrt_runtime=self._facts.tensorrt_version, profile=str(self.profile),
                    cuda_graphs=self.cuda_graphs, graphs_captured=len(self._graphs),
                    built=sidecar_summary(self._sidecar) if self._sidecar is not None else None)
        if self._compat.warnings:
            info["warnings"] = list(self._compat.warnings)
        if self._graph_failure:
            info["graph_failure"] = self._graph_failure
        return info

    def close(self) -> None:
        if self._closed:
            return
        with self._lock:
            self._closed = True
            try:
                self._stream.synchronize()
            finally:
                # Drop graphs before contexts, contexts before the engine, the engine before the runtime.
                self._graphs.clear()
                self._context = None
                self._engine = None
                self._runtime = None


__all__ = ["TensorRTRunner", "TensorRTExecutionError"]
