import pytest

from ganedge.errors import BackendUnavailableError, BadInputError
from ganedge.export.trt.precision import BuildFlags, route_precision
from ganedge.sdk.backends.tensorrt.loader import trt_major


@pytest.mark.parametrize("precision, qdq", [("fp32", False), ("fp16", False), ("bf16", False), ("int8", True),
                                            ("fp32", True)])
def test_tensorrt_11_is_always_strongly_typed_without_precision_flags(precision, qdq):
    flags = route_precision(11, precision, qdq)
    assert flags == BuildFlags(strongly_typed=True, set_flags=(), clear_flags=("TF32",))
    # Asking for strong typing on 11 changes nothing; it is the only mode.
    assert route_precision(11, precision, qdq, strongly_typed=True) == flags


@pytest.mark.parametrize("precision, qdq, expected", [
    ("fp32", False, ()),
    ("fp16", False, ("FP16",)),
    ("bf16", False, ("BF16",)),
    ("int8", True, ("INT8",)),
    ("fp32", True, ("INT8",)),  # Q/DQ nodes decide, whatever the manifest says
    ("fp16", True, ("INT8",)),
])
def test_tensorrt_10_sets_the_onnx_precision_flag(precision, qdq, expected):
    flags = route_precision(10, precision, qdq)
    assert not flags.strongly_typed
    assert flags.set_flags == expected
    assert flags.clear_flags == ("TF32",)


@pytest.mark.parametrize("precision, qdq", [("fp16", False), ("int8", True)])
def test_tensorrt_10_strongly_typed_opt_in_drops_precision_flags(precision, qdq):
    assert route_precision(10, precision, qdq, strongly_typed=True) == BuildFlags(True, (), ("TF32",))


def test_tf32_allowed_keeps_flag():
    assert route_precision(10, "fp32", False, tf32=True).clear_flags == ()
    assert route_precision(11, "fp32", False, tf32=True).clear_flags == ()


def test_int8_without_qdq_is_refused_with_advice():
    with pytest.raises(BadInputError, match="Q/DQ form"):
        route_precision(10, "int8", False)
    with pytest.raises(BadInputError, match="Q/DQ form"):
        route_precision(11, "int8", False)


def test_old_tensorrt_and_unknown_precision():
    with pytest.raises(BackendUnavailableError, match="TensorRT 10 or 11"):
        route_precision(8, "fp32", False)
    with pytest.raises(BadInputError, match="unknown precision"):
        route_precision(10, "fp8", False)


def test_trt_major():
    assert trt_major("10.13.3.9") == 10
    assert trt_major("11.0.0") == 11
    with pytest.raises(BackendUnavailableError):
        trt_major("unknown")


def test_describe_mentions_typing_and_flags():
    assert route_precision(10, "fp16", False).describe() == "weakly typed, FP16"
    assert route_precision(11, "fp16", False).describe() == "strongly typed, no precision flags"
