"""torch backend: a run directory's generator, eager on CPU or CUDA, optionally as CUDA graphs.

CPU: ``inference_mode`` and channels_last weights (ConvTranspose2d in NCHW takes a slower path:
channels_last measured 1.1x faster on one thread and 2-5x with two threads on a busy 2-core
box, dcgan-16/32), fp32 or bf16 autocast (bf16 pays off only on CPUs with AMX/avx512_bf16). The channels_last output is converted to
uint8 NHWC straight from its memory, without making it NCHW-contiguous first.

CUDA: fp32, bf16 or fp16 autocast; the float -> uint8 conversion runs on the GPU and one uint8
copy comes back (``run_uint8``). With ``cuda_graphs=True`` the forward pass and the conversion
are captured once per batch size (warm-up on a side stream first, as torch requires) and
replayed; static buffers are shared, so graph replays are serialized by a lock. Eager calls
from several threads run concurrently (the module is read-only in inference mode).

torch is imported when a runner is built, never at module import.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from ganedge.errors import BackendUnavailableError, BadInputError, ClosedError
from ganedge.images import to_uint8_nhwc
from ganedge.sdk.backends.base import NonFiniteOutputError, Runner, check_finite

TORCH_HINT = "pip install 'ganedge[train]'"
PRECISIONS = ("fp32", "bf16", "fp16")
_MAX_GRAPHS = 8  # captured batch sizes kept; each holds its own static buffers


def import_torch():
    try:
        import torch
    except ImportError:
        raise BackendUnavailableError(f"the torch backend (run directories) needs torch: {TORCH_HINT}; "
                                      "or export the run to ONNX and load the .onnx file") from None
    return torch


def torch_uint8_nhwc(images):
    """float (N, C, H, W) tensor in [-1, 1] -> uint8 (N, H, W, C) on the same device, equal to
    ``ganedge.images.to_uint8_reference``: float32 multiply, then add (two roundings, never an FMA),
    floor, clamp, cast."""
    import torch

    y = images.to(torch.float32) * 127.5
    y.add_(128.0).floor_().clamp_(0.0, 255.0)
    return y.to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def _nonfinite_rows(torch, x) -> list[int]:
    return [int(i) for i in torch.nonzero(~torch.isfinite(x.flatten(1)).all(dim=1)).flatten().tolist()]


class _Graph:
    def __init__(self, graph, z, labels, images, bad):
        self.graph, self.z, self.labels, self.images, self.bad = graph, z, labels, images, bad


class TorchRunner(Runner):
    name = "torch"

    def __init__(self, run_dir: str | os.PathLike, device: str = "cpu", threads: int | None = None, *,
                 precision: str = "fp32", channels_last: bool = True, cuda_graphs: bool = False, ema: bool = True):
        torch = import_torch()
        from ganedge.export.metadata import manifest_from_run
        from ganedge.train.checkpoint import load_generator

        try:
            self._device = torch.device(device)
        except (RuntimeError, TypeError):
            raise BadInputError(f"device {device!r} is not one of cpu, cuda, cuda:N") from None
        kind = self._device.type
        if kind not in ("cpu", "cuda"):
            raise BadInputError(f"device {device!r} is not one of cpu, cuda, cuda:N")
        if kind == "cuda" and not torch.cuda.is_available():
            raise BackendUnavailableError(f"device {device!r} requested but torch {torch.__version__} sees no GPU "
                                          "(a CPU build, or no driver); install torch with CUDA or use device='cpu'")
        if precision not in PRECISIONS:
            raise BadInputError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
        if precision == "fp16" and kind == "cpu":
            raise BadInputError("fp16 runs on CUDA only; on the CPU use precision='bf16' or 'fp32'")
        if cuda_graphs and kind != "cuda":
            raise BadInputError("cuda_graphs=True needs device='cuda'")
        if threads is not None:
            if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
                raise BadInputError(f"threads must be a positive integer, got {threads!r}")
            torch.set_num_threads(threads)  # process-wide in torch: only when asked for

        generator, config, meta = load_generator(run_dir, ema=ema, device=str(self._device))
        super().__init__(manifest_from_run(run_dir, config, meta, precision=precision))
        self.channels_last = bool(channels_last) and any(p.dim() == 4 for p in generator.parameters())
        if self.channels_last:
            generator = generator.to(memory_format=torch.channels_last)
        self._torch, self._generator = torch, generator
        self.run_dir = Path(run_dir)
        self.weights = meta.get("weights", "G_ema" if ema else "G")
        self.device = str(self._device) if self._device.index is not None or kind == "cpu" else "cuda:0"
        self.precision = precision
        self._autocast = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        self.cuda_graphs = bool(cuda_graphs)
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
            raise ClosedError(f"the torch runner for {self.run_dir} was closed")

    def run(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        self._check_open()
        torch = self._torch
        with torch.inference_mode():
            x = self._forward(*self._inputs(z, labels))
            return x.to(torch.float32).contiguous().cpu().numpy()  # (n, C, H, W) NCHW

    def run_uint8(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        self._check_open()
        torch = self._torch
        if self._device.type == "cpu":
            with torch.inference_mode():
                x = self._forward(*self._inputs(z, labels)).to(torch.float32)
            images = x.numpy()  # NCHW shape; NHWC memory with channels_last, so the transpose below is a plain copy
            check_finite(images)
            return to_uint8_nhwc(images, inplace=True)
        if self.cuda_graphs:
            return self._run_graph(z, labels)
        with torch.inference_mode():
            x = self._forward(*self._inputs(z, labels))
            bad = ~torch.isfinite(x).all()
            images = torch_uint8_nhwc(x).cpu()  # the one device -> host copy; waits for the GPU
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
            return torch_uint8_nhwc(x), ~torch.isfinite(x).all(), x

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
        info.update(run_dir=str(self.run_dir), weights=self.weights, channels_last=self.channels_last,
                    cuda_graphs=self.cuda_graphs, torch=self._torch.__version__,
                    threads=self._torch.get_num_threads())
        if self.cuda_graphs:
            info["graphs_captured"] = len(self._graphs)
        return info

    def close(self) -> None:
        with self._graph_lock:
            self._closed = True
            self._graphs.clear()
            self._generator = None
