"""TensorRT lint findings and FLOP counts on real exports and on small hand-made graphs."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ganedge.export.flops import count_flops
from ganedge.export.lint import lint_tensorrt
from ganedge.export.rewrite import subpixel_convtranspose


def graph(nodes, inputs, outputs, inits=(), opset=20):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def codes(report, severity=None):
    return {i.code for i in report.issues if severity is None or i.severity == severity}


def test_our_float_exports_are_tensorrt_ready(dcgan_all, cond_exports):
    _, folder = dcgan_all
    for path in (folder / "model.onnx", folder / "model.fp16.onnx"):
        report = lint_tensorrt(onnx.load(str(path)))
        assert report.ok and report.count("warning") == 0, report.lines()
    cond = lint_tensorrt(onnx.load(str(cond_exports["dcgan"].variants[0].path)))
    assert cond.ok and codes(cond) == {"dtype"}  # the int64 label input, a warning
    assert "int64" in cond.issues[0].message


def test_cpu_int8_is_reported_as_not_for_tensorrt(dcgan_all):
    _, folder = dcgan_all
    report = lint_tensorrt(onnx.load(str(folder / "model.int8.onnx")))
    assert not report.ok and "qdq-zero-point" in codes(report, "error")
    assert report.summary().startswith("TensorRT 10 ONNX parser: NOT compatible")


def test_unsupported_and_custom_ops_and_dynamic_dims():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "channels", 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, None)
    model = graph([helper.make_node("Unique", ["x"], ["y"]),
                   helper.make_node("FusedConv", ["x"], ["z"], domain="com.microsoft")], [x], [y, z])
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    report = lint_tensorrt(model)
    assert {"unsupported-op", "custom-op", "dynamic-shape"} <= codes(report, "error")
    assert any("axis 1 is dynamic" in i.message for i in report.issues)


def test_dtype_pitfalls_and_attribute_restrictions():
    inputs = [helper.make_tensor_value_info("d", TensorProto.DOUBLE, ["batch", 4]),
              helper.make_tensor_value_info("b", TensorProto.BOOL, ["batch", 4]),
              helper.make_tensor_value_info("img", TensorProto.FLOAT, ["batch", 3, 8, 8])]
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    nodes = [helper.make_node("Cast", ["d"], ["d32"], to=TensorProto.FLOAT),
             helper.make_node("Not", ["b"], ["nb"]),
             helper.make_node("Resize", ["img", "", "scales"], ["up"], mode="cubic")]
    outputs = [helper.make_tensor_value_info(n, t, None) for n, t in
               (("d32", TensorProto.FLOAT), ("nb", TensorProto.BOOL), ("up", TensorProto.FLOAT))]
    report = lint_tensorrt(graph(nodes, inputs, outputs, [scales], opset=22))
    warnings = [i.message for i in report.issues if i.severity == "warning"]
    assert any("double" in m for m in warnings) and any("bool" in m for m in warnings)
    assert any("opset 22" in m for m in warnings)
    assert any("Resize mode 'cubic'" in i.message for i in report.issues if i.severity == "error")


def test_flops_of_a_dcgan_by_hand(dcgan_all):
    _, folder = dcgan_all
    count = count_flops(onnx.load(str(folder / "model.onnx")))
    # dcgan-16, width 16, latent 64: channels 64, 32, 16 at 4x4, 8x8, 16x16, then a 3x3 conv to RGB
    macs = 64 * 1 * 64 * 16 + 64 * 16 * 32 * 16 + 32 * 64 * 16 * 16  # (C_in*H_in*W_in) * C_out * k*k
    folded_bn = 64 * 16 + 32 * 64 + 16 * 256  # BatchNorm folded into a bias: one add per output
    deconvs = 2 * macs + folded_bn
    conv = 2 * 3 * 256 * 16 * 9 + 3 * 256
    elementwise = folded_bn + 3 * 256  # three ReLUs (same sizes as the biases) and the tanh
    assert count.by_op["ConvTranspose"] == deconvs
    assert count.by_op["Conv"] == conv
    assert count.total == deconvs + conv + elementwise and count.exact


def test_flops_count_what_runs_after_the_rewrite_and_quantization(dcgan_all):
    _, folder = dcgan_all
    fp32 = onnx.load(str(folder / "model.onnx"))
    plain = count_flops(fp32)
    subpixel_convtranspose(fp32)
    rewritten = count_flops(fp32)
    # stride-2 k4 layers become 3x3 convs with 4x the channels at input size: 2.25x their MACs
    first = 2 * 64 * 64 * 16
    stride2 = 2 * 64 * 16 * 32 * 16 + 2 * 32 * 64 * 16 * 16
    assert rewritten.by_op["Conv"] - plain.by_op["Conv"] == plain.by_op["ConvTranspose"] - stride2 + stride2 * 9 // 4
    assert plain.by_op["ConvTranspose"] - first - stride2 == 64 * 16 + 32 * 64 + 16 * 256  # the folded biases
    int8 = count_flops(onnx.load(str(folder / "model.int8.onnx")))
    # Q/DQ plumbing is free; the quantizer folds each ReLU into its uint8 range, so those are gone
    assert int8.by_op["Conv"] == rewritten.by_op["Conv"] and "Relu" not in int8.by_op
    assert int8.total == rewritten.total - rewritten.by_op["Relu"]


def test_flops_of_gemms_and_unknown_ops(cond_exports):
    mlp = count_flops(onnx.load(str(cond_exports["mlp"].variants[0].path)))
    embed = min(64, 64)
    hidden, pixels = 32, 3 * 16 * 16
    assert mlp.by_op["Gemm"] == (2 * (64 + embed) * hidden + hidden) + (2 * hidden * hidden + hidden) + \
        (2 * hidden * pixels + pixels)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    odd = count_flops(graph([helper.make_node("Hardmax", ["x"], ["y"])], [x], [y]))
    assert odd.unknown_ops == ["Hardmax"] and not odd.exact


@pytest.mark.parametrize("op", ["Relu", "Tanh"])
def test_elementwise_is_one_per_output_element(op):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 5, 7])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3, 5, 7])
    assert count_flops(graph([helper.make_node(op, ["x"], ["y"])], [x], [y])).total == 105
