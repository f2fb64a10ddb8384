"""The sub-pixel rewrite is exact: Conv + DepthToSpace computes what ConvTranspose computed."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ganedge.sdk.backends.onnxrt.loader import create_session
from ganedge.export.rewrite import plan_axis, subpixel_convtranspose


def convtranspose_model(c_in=3, c_out=5, hw=(6, 6), kernel=(4, 4), strides=(2, 2), pads=(1, 1, 1, 1),
                        output_padding=None, group=1, dilations=None, bias=True, act="Relu", seed=0):
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((c_in, c_out // group, *kernel)).astype(np.float32)
    inits = [numpy_helper.from_array(weight, "w")]
    inputs = ["x", "w"]
    if bias:
        inits.append(numpy_helper.from_array(rng.standard_normal(c_out).astype(np.float32), "b"))
        inputs.append("b")
    attrs = {"strides": list(strides), "pads": list(pads), "group": group}
    if output_padding:
        attrs["output_padding"] = list(output_padding)
    if dilations:
        attrs["dilations"] = list(dilations)
    nodes = [helper.make_node("ConvTranspose", inputs, ["y"], name="deconv", **attrs)]
    out = "y"
    if act:
        nodes.append(helper.make_node(act, ["y"], ["out"], name="act"))
        out = "out"
    op = output_padding or (0, 0)
    out_hw = [(hw[i] - 1) * strides[i] + kernel[i] - pads[i] - pads[i + 2] + op[i] for i in range(2)]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", c_in, *hw])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["batch", c_out, *out_hw])], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])


def run(model, x):
    return create_session(model).session.run(None, {"x": x})[0]


@pytest.mark.parametrize("case", [
    dict(),  # DCGAN's layer: k4 s2 p1
    dict(hw=(1, 1), strides=(1, 1), pads=(0, 0, 0, 0)),  # DCGAN's first layer: 1x1 input, stride ignored
    dict(kernel=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1), output_padding=(1, 1)),  # "same" upsampling
    dict(kernel=(2, 2), strides=(2, 2), pads=(0, 0, 0, 0), act=None, bias=False),  # plain unpooling
    dict(kernel=(3, 3), strides=(1, 1), pads=(1, 1, 1, 1), act="LeakyRelu"),  # stride 1: a flipped Conv
    dict(kernel=(5, 5), strides=(3, 3), pads=(1, 1, 1, 1), hw=(5, 7)),  # odd sizes, non-square input
])
def test_rewrite_is_exact_in_fp32(case):
    model = convtranspose_model(**case)
    x = np.random.default_rng(1).standard_normal((3, 3, *case.get("hw", (6, 6)))).astype(np.float32)
    expected = run(model, x)
    rewritten = onnx.ModelProto()
    rewritten.CopyFrom(model)
    records = subpixel_convtranspose(rewritten)
    assert len(records) == 1
    onnx.checker.check_model(rewritten, full_check=True)
    assert "ConvTranspose" not in {n.op_type for n in rewritten.graph.node}
    got = run(rewritten, x)
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) <= 1e-5


def test_activation_moves_before_depth_to_space():
    model = convtranspose_model()
    subpixel_convtranspose(model)
    assert [n.op_type for n in model.graph.node] == ["Conv", "Relu", "DepthToSpace"]


@pytest.mark.parametrize("case", [dict(group=5, c_in=5), dict(dilations=(2, 2)), dict(strides=(2, 1))])
def test_ineligible_convtranspose_is_left_alone(case):
    model = convtranspose_model(**case)
    before = model.SerializeToString()
    assert subpixel_convtranspose(model) == []
    assert model.SerializeToString() == before


def test_plan_axis_matches_the_dcgan_derivation():
    plan = plan_axis(length=8, kernel=4, stride=2, pad_begin=1, pad_end=1)
    assert (plan.stride, plan.kernel, plan.pad_begin, plan.pad_end) == (2, 3, 1, 1)
    # phase 0 uses taps 1 and 3, phase 1 taps 0 and 2: every tap exactly once
    assert sorted(t for _, _, t in plan.taps) == [0, 1, 2, 3]
    assert plan_axis(length=1, kernel=4, stride=1, pad_begin=0, pad_end=0).stride == 4


def test_exported_dcgan_rewrites_every_convtranspose(dcgan_all):
    result, folder = dcgan_all
    fp32 = onnx.load(str(folder / "model.onnx"))
    n_deconv = sum(n.op_type == "ConvTranspose" for n in fp32.graph.node)
    rewritten = onnx.ModelProto()
    rewritten.CopyFrom(fp32)
    records = subpixel_convtranspose(rewritten)
    assert len(records) == n_deconv >= 2
    z = np.random.default_rng(0).standard_normal((7, 64)).astype(np.float32)
    a = create_session(fp32).session.run(None, {"z": z})[0]
    b = create_session(rewritten).session.run(None, {"z": z})[0]
    assert np.max(np.abs(a - b)) <= 1e-5
    int8 = next(v for v in result.variants if v.precision == "int8")
    assert int8.rewrites == [r.describe() for r in records]
