"""Which network type and builder flags give an engine the ONNX's precision (pure Python).

TensorRT 11 networks are always strongly typed: every tensor keeps the type the ONNX gives
it, and the precision builder flags (FP16, BF16, INT8, ...) no longer exist. So the fp16,
bf16 and int8-QDQ variants of ``ganedge export onnx`` *are* the precision choice.

TensorRT 10 still has weak typing. There we follow what trtexec users expect: an fp16 or
bf16 ONNX sets the FP16/BF16 flag, a Q/DQ graph sets INT8 (explicit quantization: the Q/DQ
scales are used, no calibrator), and ``strongly_typed=True`` opts into the 11.x behaviour.
TF32 (a 10-bit mantissa inside "fp32" convolutions) is cleared unless asked for, because an
fp32 engine should meet the fp32 gate (1e-4) like the ONNX it came from.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganedge.errors import BackendUnavailableError, BadInputError
from ganedge.artifacts.manifest import PRECISIONS
from ganedge.sdk.backends.tensorrt.loader import INSTALL_HINT, MIN_TRT_MAJOR



@dataclass(frozen=True)
class BuildFlags:
    """How to create the network and configure the builder."""

    strongly_typed: bool  # NetworkDefinitionCreationFlag.STRONGLY_TYPED (ignored but accepted by 11.x)
    set_flags: tuple[str, ...] = ()  # trt.BuilderFlag member names to set
    clear_flags: tuple[str, ...] = ()  # ... and to clear (when the running TensorRT has them)

    def describe(self) -> str:
        kind = "strongly typed" if self.strongly_typed else "weakly typed"
        flags = ", ".join(self.set_flags) or "no precision flags"
        return f"{kind}, {flags}"


def check_buildable(precision: str, has_qdq: bool) -> None:
    """Refuse, before TensorRT is even imported, an ONNX whose precision TensorRT cannot build."""
    if precision not in PRECISIONS:
        raise BadInputError(f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}")
    if precision == "int8" and not has_qdq:
        raise BadInputError(
            "this int8 ONNX has no QuantizeLinear/DequantizeLinear nodes (dynamic or QOperator quantization), "
            "which TensorRT cannot build; export the int8 variant in Q/DQ form with `ganedge export onnx --precision int8`")


def route_precision(trt_major: int, precision: str, has_qdq: bool, *,
                    strongly_typed: bool = False, tf32: bool = False) -> BuildFlags:
    """(TensorRT major version, ONNX precision, Q/DQ present?) -> network type and builder flags.

    ``strongly_typed`` requests a strongly typed network on 10.x (11.x always is one);
    ``tf32`` allows TF32 inside fp32 layers.
    """
    check_buildable(precision, has_qdq)
    if trt_major < MIN_TRT_MAJOR:
        raise BackendUnavailableError(
            f"TensorRT {trt_major}.x is too old; ganedge builds engines with TensorRT 10 or 11 ({INSTALL_HINT})")
    clear = () if tf32 else ("TF32",)
    if trt_major >= 11 or strongly_typed:
        return BuildFlags(strongly_typed=True, clear_flags=clear)
    # TensorRT 10, weakly typed.
    if has_qdq:
        # Q/DQ pairs carry the int8 scales; INT8 lets TensorRT fuse them into int8 kernels. Layers outside
        # the Q/DQ regions stay fp32, as in the ONNX (no FP16 flag: the engine keeps the ONNX's precision).
        return BuildFlags(strongly_typed=False, set_flags=("INT8",), clear_flags=clear)
    if precision == "fp16":
        return BuildFlags(strongly_typed=False, set_flags=("FP16",), clear_flags=clear)
    if precision == "bf16":
        return BuildFlags(strongly_typed=False, set_flags=("BF16",), clear_flags=clear)
    return BuildFlags(strongly_typed=False, clear_flags=clear)
