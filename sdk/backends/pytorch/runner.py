"""torch runner: a generator module (loaded by :mod:`.loader`), eager on CPU or CUDA, optionally as CUDA graphs.

CPU: ``inference_mode``, channels_last weights, fp32 or bf16 autocast (bf16 pays off only on
CPUs with AMX/avx512_bf16; there conv/linear weights are stored in bf16 once, elsewhere the
loader warns that bf16 is emulated). ``run`` returns the float output in the module's own memory layout
(NHWC memory under channels_last), which the Generator converts to uint8 NHWC without making it
NCHW-contiguous first.

CUDA: fp32, bf16 or fp16 autocast; the float -> uint8 conversion runs on the GPU and one uint8
copy comes back (``run_uint8``; the runner ``converts_on_device``). With ``cuda_graphs=True`` the
forward pass and the conversion are captured once per batch size (warm-up on a side stream
first, as torch requires) and replayed; static buffers are shared, so graph replays are
serialized by a lock. Eager calls from several threads run concurrently (the module is
read-only in inference mode).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from ganedge.cpu_features import cpu_features
from ganedge.errors import BadInputError, ClosedError
from ganedge.sdk.backends.base import NonFiniteOutputError, Runner
from ganedge.sdk.backends.pytorch.convert import torch_uint8_nhwc, uint8_affine
from ganedge.sdk.backends.pytorch.loader import cpu_bf16_note, load_module

_MAX_GRAPHS = 8  # captured batch sizes kept; each holds its own static buffers


def _nonfinite_rows(torch, x) -> list[int]:
    return [int(i) for i in torch.nonzero(~torch.isfinite(x.flatten(1)).all(dim=1)).flatten().tolist()]


class _Graph:
    def __init__(self, graph, z, labels, images, bad):
        self.graph, self.z, self.labels, self.images, self.bad = graph, z, labels, images, bad


class TorchRunner(Runner):
    name = "torch"

    def __init__(self, source: str | os.PathLike, device: str = "cpu", threads: int | None = None, **options: Any):
        """``source``: a run directory or module reference; ``options``: those of :func:`.loader.load_module`."""
        loaded = load_module(source, device, threads, **options)
        super().__init__(loaded.manifest)
        torch = self._torch = loaded.torch
        self._generator, self._device = loaded.module, loaded.device
        self.channels_last = loaded.channels_last
        self.source = loaded.source
        self.weights = loaded.weights
        self._bf16_weights = loaded.bf16_weights
        kind = self._device.type
        self.device = str(self._device) if self._device.index is not None or kind == "cpu" else "cuda:0"
        self.converts_on_device = kind == "cuda"
        self.precision = loaded.precision
        self._autocast = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)
        self._scale, self._offset = uint8_affine(self.manifest.output_range)
        self.cuda_graphs = bool(options.get("cuda_graphs", False))
        self._graphs: OrderedDict[int, _Graph] = OrderedDict()
        self._graph_lock = threading.Lock()
        self._closed = False

    # --- forward -------------------------------------------------------------------------------

    def _forward(self, z, labels, cache: bool = True):
        torch = self._torch
        with torch.autocast(self._device.type, dtype=self._autocast or torch.float32,
                            enabled=self._autocast is not None, cache_enabled=cache):
            return self._generator(z, labels)  # (n, C, H, W), channels_last memory when enabled

    def _inputs(self, z: np.ndarray, labels: np.ndarray | None):
        torch = self._torch
        z_t = torch.from_numpy(z).to(self._device)  # (n, latent_dim); no copy on the CPU
        labels_t = None if labels is None else torch.from_numpy(np.ascontiguousarray(labels, np.int64)).to(self._device)
        return z_t, labels_t

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedError(f"the torch runner for {self.source} was closed")

    def run(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """float32 (n, C, H, W), in NHWC memory under channels_last on the CPU (the caller may make it contiguous)."""
        self._check_open()
        torch = self._torch
        with torch.inference_mode():
            x = self._forward(*self._inputs(z, labels)).to(torch.float32)
            return x.numpy() if self._device.type == "cpu" else x.contiguous().cpu().numpy()

    def _to_uint8(self, x):
        return torch_uint8_nhwc(x, self._scale, self._offset)

    def run_uint8(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """uint8 (n, H, W, C) converted on the GPU with one copy back (CUDA only: ``converts_on_device``)."""
        self._check_open()
        torch = self._torch
        if not self.converts_on_device:
            raise BadInputError("run_uint8 converts on the GPU; this torch runner is on the CPU (use run)")
        if self.cuda_graphs:
            return self._run_graph(z, labels)
        with torch.inference_mode():
            x = self._forward(*self._inputs(z, labels))
            bad = ~torch.isfinite(x).all()
            images = self._to_uint8(x).cpu()  # the one device -> host copy; waits for the GPU
            if bool(bad):
                raise NonFiniteOutputError("the model produced NaN/Inf", _nonfinite_rows(torch, x))
        return images.numpy()

    # --- CUDA graphs -------------------------------------------------------------------------

    def _capture(self, n: int) -> _Graph:
        torch, dev, m = self._torch, self._device, self.manifest
        z = torch.zeros((n, m.latent_dim), dtype=torch.float32, device=dev)
        labels = torch.zeros((n,), dtype=torch.int64, device=dev) if m.conditional else None

        def step():
            x = self._forward(z, labels, cache=False)  # autocast's weight cache must not live across a capture
            return self._to_uint8(x), ~torch.isfinite(x).all(), x

        side = torch.cuda.Stream(device=dev)
        side.wait_stream(torch.cuda.current_stream(dev))
        with torch.cuda.stream(side):
            for _ in range(2):  # warm-up outside the graph: lazy inits, cuDNN autotuning
                step()
        torch.cuda.current_stream(dev).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            images, bad, _ = step()
        return _Graph(graph, z, labels, images, bad)

    def _graph_for(self, z: np.ndarray, labels: np.ndarray | None) -> _Graph:
        """The captured graph for this batch size with z/labels copied into its static inputs
        (call with _graph_lock held, under inference_mode)."""
        torch = self._torch
        n = z.shape[0]
        entry = self._graphs.get(n)
        if entry is None:
            entry = self._graphs[n] = self._capture(n)
            while len(self._graphs) > _MAX_GRAPHS:
                self._graphs.popitem(last=False)
        self._graphs.move_to_end(n)
        entry.z.copy_(torch.from_numpy(z))  # host -> the graph's static input
        if entry.labels is not None:
            entry.labels.copy_(torch.from_numpy(np.ascontiguousarray(labels, np.int64)))
        return entry

    def _run_graph(self, z: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        torch = self._torch
        with self._graph_lock, torch.inference_mode():
            self._check_open()
            entry = self._graph_for(z, labels)
            entry.graph.replay()
            images = entry.images.cpu()  # copy out before the next replay overwrites it
            if bool(entry.bad):
                # Rerun eagerly to name the rows; only on this error path.
                x = self._forward(*self._inputs(z, labels))
                raise NonFiniteOutputError("the model produced NaN/Inf", _nonfinite_rows(torch, x))
        return images.numpy()

    def device_compute_ms(self, z: np.ndarray, labels: np.ndarray | None = None) -> float:
        """Milliseconds the generator alone takes on the GPU, timed with CUDA events around the
        forward (or the graph replay, with the uint8 conversion it contains); inputs are copied
        to the device before the first event and nothing is copied back. For ``ganedge bench``."""
        self._check_open()
        torch = self._torch
        if self._device.type != "cuda":
            raise BadInputError("device_compute_ms times CUDA work; this runner is on the CPU")
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        with torch.inference_mode():
            if self.cuda_graphs:
                with self._graph_lock:
                    entry = self._graph_for(z, labels)
                    start.record()
                    entry.graph.replay()
                    end.record()
            else:
                inputs = self._inputs(z, labels)
                start.record()
                self._forward(*inputs)
                end.record()
            end.synchronize()
        return start.elapsed_time(end)

    # --- bookkeeping -------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(source=self.source, weights=self.weights, channels_last=self.channels_last,
                    cuda_graphs=self.cuda_graphs, torch=self._torch.__version__,
                    threads=self._torch.get_num_threads())
        if self.precision == "bf16" and self._device.type == "cpu":
            features = cpu_features()
            info.update(native_bf16=features.native_bf16, matrix_units=features.matrix_units(),
                        bf16_weight_layers=self._bf16_weights)
            note = cpu_bf16_note(self.precision, "cpu")
            if note:
                info["bf16_note"] = note
        if self.cuda_graphs:
            info["graphs_captured"] = len(self._graphs)
        return info

    def close(self) -> None:
        with self._graph_lock:
            self._closed = True
            self._graphs.clear()
            self._generator = None
