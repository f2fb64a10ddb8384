"""The roofline's ceiling: this machine's measured matmul peak (and copy bandwidth), in this run.

A datasheet peak is not what a shared VM, a power-capped GPU or a thread limit gives, so
bench measures it with the same thread count as the configurations, right before them:

* CPU: float32 GEMM with numpy (its BLAS), onnxruntime (its MLAS MatMul), OpenVINO (oneDNN)
  and, when the sweep runs torch variants, torch (oneDNN/MKL); the best is the fp32 peak (each
  library's figure is kept in ``fp32_by_library``). The bf16 and int8 peaks are those of the
  CPU's matrix units (AMX where present, else AVX512-BF16 / VNNI dot products, else widened
  arithmetic), measured the same way: int8 by onnxruntime's MatMulInteger (uint8 x int8, the
  kernel its QDQ int8 models run) and OpenVINO's int8 GEMM (FakeQuantize'd MatMul), bf16 by
  torch and OpenVINO (the latter only where bf16 is native); the best of each is the peak
  (``bf16_by_library``, ``int8_by_library``), and ``matrix_units`` names what ran them. torch is not imported for a sweep
  without torch variants: on a busy machine its import alone takes seconds. ``copy_gbps`` is a
  large ``memcpy``-like copy, bytes read + written per second (STREAM "copy" convention).
* GPU (torch with CUDA): GEMMs in fp32 (TF32 off), tf32, fp16, bf16 and int8 timed with CUDA
  events, a device-to-device copy and a pinned host-to-device copy.

Each figure is the best of several timed repeats after one warm-up call: the peak is what
the machine *can* do, so interference is filtered out rather than averaged in. A FLOP is
one multiply or one add (a GEMM of n x n by n x n is 2 n^3 FLOPs), the convention the
FLOP counters use too.

It runs in a subprocess: thread-count environment variables must be set before numpy's
BLAS loads, and the parent's thread pools stay as the configurations left them.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from typing import Any, Callable

from ganedge.errors import GanEdgeError

THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
PROBE_SECONDS = 1.0  # per figure, after warm-up: long enough to catch a quiet moment on a shared machine


def _best_rate(fn: Callable[[], float], work: float, seconds: float, min_repeats: int = 2) -> float:
    """Best ``work / elapsed`` over repeats of ``fn`` (which returns its own elapsed seconds)."""
    fn()  # warm-up: thread pools, page faults, kernel selection
    best, begin, repeats = 0.0, time.perf_counter(), 0
    while repeats < min_repeats or time.perf_counter() - begin < seconds:
        elapsed = fn()
        best = max(best, work / elapsed)
        repeats += 1
    return best


def _host_timer(fn: Callable[[], Any]) -> Callable[[], float]:
    def timed() -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    return timed


def _pick_size(matmul: Callable[[int], Callable[[], float]], target_s: float = 0.05, smallest: int = 1024,
               largest: int = 4096) -> int:
    """Smallest power-of-two size from ``smallest`` whose GEMM takes at least ``target_s``: big
    enough to reach the peak, and never so small that call overhead shows."""
    n = smallest
    while n < largest:
        if matmul(n)() >= target_s:
            break
        n *= 2
    return n


def probe_cpu(threads: int, seconds: float = PROBE_SECONDS, with_torch: bool = True) -> dict[str, Any]:
    import numpy as np

    def numpy_gemm(n: int) -> Callable[[], float]:
        a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
        b, out = a.copy(), np.empty_like(a)
        return _host_timer(lambda: np.matmul(a, b, out=out))

    n = _pick_size(numpy_gemm)
    flops = 2.0 * n**3
    by_library = {"numpy": _best_rate(numpy_gemm(n), flops, seconds) / 1e9}
    result: dict[str, Any] = {"matmul_n": n, "threads": threads}
    low: dict[str, dict[str, float]] = {"bf16": {}, "int8": {}}  # precision -> library -> GFLOP/s
    if with_torch:
        _torch_peaks(n, threads, seconds, by_library, low)
    ort = _onnxruntime_gemms(n, threads)
    if ort is not None:
        fp32_gemm, int8_gemm = ort
        by_library["onnxruntime"] = _best_rate(fp32_gemm, flops, seconds) / 1e9
        low["int8"]["onnxruntime"] = _best_rate(int8_gemm, flops, seconds) / 1e9  # int8 multiply-adds, 2 ops each
    _openvino_peaks(n, threads, seconds, by_library, low, result)
    for precision, figures in low.items():
        if figures:
            best = max(figures, key=figures.get)
            result[f"{precision}_gflops"], result[f"{precision}_library"] = figures[best], best
            result[f"{precision}_by_library"] = figures
    best_library = max(by_library, key=by_library.get)
    result["fp32_gflops"] = by_library[best_library]
    result["fp32_library"] = best_library
    result["fp32_by_library"] = by_library

    size = 256 << 20  # 256 MiB: far beyond any cache
    src = np.ones(size // 4, dtype=np.float32)
    dst = np.empty_like(src)
    result["copy_gbps"] = _best_rate(_host_timer(lambda: np.copyto(dst, src)), 2.0 * size, seconds) / 1e9
    return result


def _torch_peaks(n: int, threads: int, seconds: float, fp32: dict[str, float], low: dict[str, dict[str, float]]) -> None:
    """torch's fp32 and bf16 GEMMs (oneDNN/MKL), when torch is installed."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(threads)

    def torch_gemm(dtype) -> Callable[[int], Callable[[], float]]:
        def make(size: int) -> Callable[[], float]:
            a = torch.randn(size, size, dtype=torch.float32).to(dtype)
            b, out = a.clone(), torch.empty(size, size, dtype=dtype)
            return _host_timer(lambda: torch.matmul(a, b, out=out))

        return make

    fp32["torch"] = _best_rate(torch_gemm(torch.float32)(n), 2.0 * n**3, seconds) / 1e9
    # bf16 gets its own size: without AVX512-BF16/AMX it is emulated and can be 50x slower.
    bf16 = torch_gemm(torch.bfloat16)
    n_bf16 = _pick_size(bf16, smallest=256)
    low["bf16"]["torch"] = _best_rate(bf16(n_bf16), 2.0 * n_bf16**3, seconds) / 1e9


def _openvino_peaks(n: int, threads: int, seconds: float, fp32: dict[str, float], low: dict[str, dict[str, float]],
                    result: dict[str, Any]) -> None:
    """OpenVINO's fp32/bf16/int8 GEMMs (bench/peak_openvino.py), each kept only under the precision
    it really ran in; the CPU's matrix units are recorded beside them."""
    from ganedge.bench.peak_openvino import openvino_gemms, ran_as
    from ganedge.cpu_features import cpu_features

    features = cpu_features()
    result["matrix_units"] = features.matrix_units()
    timers = openvino_gemms(n, threads, features.native_bf16)
    if timers is None:
        return
    flops = 2.0 * n**3
    for precision, (timer, runtime) in timers.items():
        if not ran_as(precision, runtime):
            result.setdefault("notes", []).append(f"openvino {precision} GEMM ran as {runtime}: not counted")
            continue
        rate = _best_rate(timer, flops, seconds) / 1e9
        (fp32 if precision == "fp32" else low[precision])["openvino"] = rate


def _onnxruntime_gemms(n: int, threads: int) -> tuple[Callable[[], float], Callable[[], float]] | None:
    """Timers for onnxruntime's own fp32 MatMul and u8 x s8 MatMulInteger (its CPU int8 kernel,
    the one QDQ int8 models run), or None without onnx/onnxruntime."""
    try:
        import numpy as np
        import onnxruntime
        from onnx import TensorProto, helper
    except ImportError:
        return None

    def session(op: str, a_type: int, b_type: int, out_type: int):
        graph = helper.make_graph(
            [helper.make_node(op, ["a", "b"], ["y"])], f"peak_{op}",
            [helper.make_tensor_value_info("a", a_type, [n, n]), helper.make_tensor_value_info("b", b_type, [n, n])],
            [helper.make_tensor_value_info("y", out_type, [n, n])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        return onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    rng = np.random.default_rng(0)
    fp32 = session("MatMul", TensorProto.FLOAT, TensorProto.FLOAT, TensorProto.FLOAT)
    fp32_feed = {"a": rng.standard_normal((n, n), dtype=np.float32), "b": rng.standard_normal((n, n), dtype=np.float32)}
    int8 = session("MatMulInteger", TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32)
    int8_feed = {"a": rng.integers(0, 255, (n, n), dtype=np.uint8), "b": rng.integers(-127, 127, (n, n), dtype=np.int8)}
    return (_host_timer(lambda: fp32.run(None, fp32_feed)), _host_timer(lambda: int8.run(None, int8_feed)))


def probe_gpu(device: str, seconds: float = PROBE_SECONDS) -> dict[str, Any]:
    import torch

    dev = torch.device(device)
    torch.cuda.set_device(dev)

    def event_timer(fn: Callable[[], Any]) -> Callable[[], float]:
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

        def timed() -> float:
            start.record()
            fn()
            stop.record()
            stop.synchronize()
            return start.elapsed_time(stop) / 1e3

        return timed

    result: dict[str, Any] = {"gpu_name": torch.cuda.get_device_name(dev)}
    n = 8192
    flops = 2.0 * n**3
    previous_tf32 = torch.backends.cuda.matmul.allow_tf32
    try:
        for key, dtype, tf32 in (("fp32", torch.float32, False), ("tf32", torch.float32, True),
                                 ("fp16", torch.float16, False), ("bf16", torch.bfloat16, False)):
            torch.backends.cuda.matmul.allow_tf32 = tf32
            a = torch.randn(n, n, device=dev).to(dtype)
            b = a.clone()
            result[f"{key}_gflops"] = _best_rate(event_timer(functools.partial(torch.matmul, a, b)), flops, seconds) / 1e9
            del a, b
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous_tf32
    try:  # int8 GEMM (int32 accumulate); absent on some builds and architectures
        a = torch.randint(-8, 8, (n, n), dtype=torch.int8, device=dev)
        b = a.t().contiguous().t()
        result["int8_gflops"] = _best_rate(event_timer(functools.partial(torch._int_mm, a, b)), flops, seconds) / 1e9
        del a, b
    except (RuntimeError, AttributeError):
        pass
    size = 1 << 30
    src = torch.empty(size, dtype=torch.uint8, device=dev)
    dst = torch.empty_like(src)
    result["d2d_copy_gbps"] = _best_rate(event_timer(lambda: dst.copy_(src)), 2.0 * size, seconds) / 1e9
    host = torch.empty(size // 4, dtype=torch.uint8, pin_memory=True)
    dst_small = torch.empty_like(host, device=dev)
    result["h2d_copy_gbps"] = _best_rate(event_timer(lambda: dst_small.copy_(host, non_blocking=True)),
                                         float(host.numel()), seconds) / 1e9
    return result


def measure_peak(threads: int, device: str = "cpu", seconds: float = PROBE_SECONDS, with_torch: bool = True,
                 timeout_s: float = 300.0) -> dict[str, Any]:
    """Run the probes in a fresh process with ``threads`` BLAS threads; returns the "peak" object."""
    env = dict(os.environ)
    env.update({name: str(threads) for name in THREAD_ENV})
    command = [sys.executable, "-m", "ganedge.bench.peak", "--threads", str(threads), "--device", device,
               "--seconds", str(seconds)] + ([] if with_torch else ["--no-torch"])
    try:
        proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise GanEdgeError(f"the peak probe took over {timeout_s:.0f} s; run with --no-roofline") from None
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise GanEdgeError(f"the peak probe failed ({tail}); run with --no-roofline to skip it")
    peak = json.loads(proc.stdout.strip().splitlines()[-1])
    peak["method"] = (f"best of repeated n={peak['cpu']['matmul_n']} square GEMMs per library and precision, "
                      f"{threads} CPU threads, in a subprocess just before the sweep; FLOP = one multiply or add")
    return peak


def peak_gflops(peak: dict[str, Any] | None, device: str, precision: str) -> tuple[float | None, str | None]:
    """The ceiling a configuration is compared with, and which figure it is.

    The probe of the row's own precision where one was measured (GPU: all; CPU: bf16 by torch and
    OpenVINO, int8 by onnxruntime and OpenVINO, the best of each). Otherwise fp32 — on a CPU that
    is right for fp16 too: without AVX512-FP16 or AMX, CPU runtimes compute fp16 models in fp32.
    """
    if not peak:
        return None, None
    side = peak.get("gpu") if device.startswith("cuda") else peak.get("cpu")
    if not side:
        return None, None
    key = f"{precision}_gflops"
    if key in side:
        return side[key], key
    return side.get("fp32_gflops"), "fp32_gflops"


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Measure this machine's GEMM peak (used by ganedge bench).")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seconds", type=float, default=PROBE_SECONDS)
    parser.add_argument("--no-torch", action="store_true", help="numpy only on the CPU")
    args = parser.parse_args(argv)
    peak: dict[str, Any] = {"cpu": probe_cpu(args.threads, args.seconds, with_torch=not args.no_torch)}
    if args.device.startswith("cuda"):
        peak["gpu"] = probe_gpu(args.device, args.seconds)
    print(json.dumps(peak))


if __name__ == "__main__":
    main()
