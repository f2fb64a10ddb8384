"""OpenVINO's GEMM peaks on the CPU, per precision: what its fp32, bf16 and int8 kernels reach here.

The bf16 and int8 ceilings of a CPU are set by its matrix units (AMX tiles, or the AVX512-BF16 /
VNNI dot-product instructions), and OpenVINO's CPU plugin (oneDNN) is what drives them for our
models, so its own GEMMs measure them:

* fp32: a MatMul compiled with the fp32 precision hint;
* bf16: the same MatMul with the bf16 hint, only where the CPU executes bf16 natively (elsewhere
  OpenVINO would quietly run fp32, and the figure would be mislabelled);
* int8: a MatMul between FakeQuantize'd inputs (u8 activations, i8 weights: the pattern our QDQ
  int8 exports become), which OpenVINO's low-precision transformations turn into an int8 GEMM.

Each runs with ``threads`` threads and the latency hint (one stream), as the SDK's backend does.
The runtime model is checked so that a figure is only reported under the precision the GEMM
really ran in.
"""

from __future__ import annotations

from typing import Callable


def _runtime_precision(compiled) -> str | None:
    """The precision OpenVINO chose for the MatMul layer ("f32", "bf16", "u8", ...)."""
    for op in compiled.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        if "layerType" in info and info["layerType"].astype(str) in ("MatMul", "FullyConnected"):
            return info["runtimePrecision"].astype(str)
    return None


def openvino_gemms(n: int, threads: int, native_bf16: bool) -> dict[str, tuple[Callable[[], float], str]] | None:
    """precision -> (a timer returning its elapsed seconds, the precision the GEMM ran in), or None
    without OpenVINO."""
    try:
        import numpy as np
        import openvino as ov
        import openvino.opset13 as ops
    except ImportError:
        return None
    import time

    def inputs():
        return ops.parameter([n, n], ov.Type.f32, name="a"), ops.parameter([n, n], ov.Type.f32, name="b")

    def fake_quantize(x, low: float, high: float):
        lo, hi = ops.constant(np.float32(low)), ops.constant(np.float32(high))
        return ops.fake_quantize(x, lo, hi, lo, hi, 256)

    def plain():
        a, b = inputs()
        return ov.Model([ops.matmul(a, b, False, False)], [a, b], "peak_matmul")

    def quantized():
        a, b = inputs()
        return ov.Model([ops.matmul(fake_quantize(a, 0.0, 2.55), fake_quantize(b, -1.28, 1.27), False, False)],
                        [a, b], "peak_matmul_int8")

    core = ov.Core()
    rng = np.random.default_rng(0)
    feed = {0: rng.random((n, n), dtype=np.float32) * 2.5, 1: rng.random((n, n), dtype=np.float32) - 0.5}
    plans = [("fp32", plain, "f32"), ("int8", quantized, "f32")] + ([("bf16", plain, "bf16")] if native_bf16 else [])
    timers: dict[str, tuple[Callable[[], float], str]] = {}
    for precision, build, hint in plans:
        compiled = core.compile_model(build(), "CPU", {"INFERENCE_PRECISION_HINT": hint, "INFERENCE_NUM_THREADS": threads,
                                                       "PERFORMANCE_HINT": "LATENCY"})
        request = compiled.create_infer_request()

        def timed(request=request) -> float:
            start = time.perf_counter()
            request.infer(feed, share_inputs=True, share_outputs=True)
            return time.perf_counter() - start

        timers[precision] = (timed, _runtime_precision(compiled) or "?")
    return timers


def ran_as(precision: str, runtime: str) -> bool:
    """Whether a GEMM meant as ``precision`` really ran in it (OpenVINO's layer precision names)."""
    return runtime in {"fp32": ("f32",), "bf16": ("bf16",), "int8": ("u8", "i8")}[precision]
