"""The light FLOP count (pure reader + our shape propagation) equals onnx's (shape inference), everywhere.

On our exports (DCGAN fp32/fp16/int8, conditional, MLP, ResNet), on generators trained elsewhere
(tests/export/zoo.py: PixelShuffle, attention, a modulated conv that exports only at a fixed batch)
and on small graphs for each rule. The propagation runs without the files' value_info, so every
shape is worked out, not read back; onnx's inference is the reference for each tensor it pins down.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ganedge.artifacts.onnx_graph import read_onnx_graph
from ganedge.export.flops import _shapes_at_batch_one, count_file_flops, count_flops, count_graph_flops
from ganedge.export.graph_shapes import infer_shapes


def assert_light_equals_onnx(model: onnx.ModelProto) -> None:
    """Every shape onnx infers at batch 1 is ours too, and the FLOP counts agree to the FLOP."""
    reference = {k: tuple(v) for k, v in _shapes_at_batch_one(model).items() if all(isinstance(d, int) for d in v)}
    produced = {name for node in model.graph.node for name in node.output if name}
    assert produced <= set(reference), f"onnx could not infer {produced - set(reference)}: no reference to hold us to"
    bare = onnx.ModelProto()
    bare.CopyFrom(model)
    del bare.graph.value_info[:]  # nothing to read back: every shape must be propagated
    graph = read_onnx_graph(bare.SerializeToString())
    ours = infer_shapes(graph)
    wrong = {name: (shape, ours.get(name)) for name, shape in reference.items() if ours.get(name) != shape}
    assert not wrong, wrong
    light, full = count_graph_flops(graph), count_flops(model)
    assert light.to_dict() == full.to_dict()
    assert light.exact and light.total > 0


@pytest.fixture(scope="module")
def resnet_export(runs, tmp_path_factory):
    from ganedge.export.pipeline import ExportOptions, export_onnx

    result = export_onnx(runs["resnet_cond"], tmp_path_factory.mktemp("resnet") / "resnet.onnx", ExportOptions())
    assert result.passed
    return result.variants[0].path


def test_our_exports(dcgan_all, cond_exports, resnet_export):
    _, folder = dcgan_all
    paths = [folder / "model.onnx", folder / "model.fp16.onnx", folder / "model.int8.onnx", resnet_export,
             cond_exports["dcgan"].variants[0].path, cond_exports["mlp"].variants[0].path]
    for path in paths:
        assert_light_equals_onnx(onnx.load(str(path)))
        assert count_file_flops(path).to_dict() == count_flops(onnx.load(str(path))).to_dict()


@pytest.fixture(scope="module")
def zoo_exports(tmp_path_factory):
    """Module-reference exports of tests/export/zoo.py's generators (fp32, gated); Modulated also at batch 4."""
    import torch

    from ganedge.export import export_module
    from tests.export import zoo

    folder = tmp_path_factory.mktemp("zoo")
    torch.manual_seed(0)
    made = {}
    for name, module, latent, options in (("pixelshuffle", zoo.PixelShuffleGen(), 32, {}),
                                          ("matmul", zoo.MatmulGen(), 32, {}),
                                          ("modulated", zoo.ModulatedGen(), 16, {}),
                                          ("modulated4", zoo.ModulatedGen(), 16, {"fixed_batch": 4})):
        result = export_module(module, folder / f"{name}.onnx", latent_dim=latent, output_range=(0.0, 1.0),
                               **options)
        assert result.passed, result.failure_summary()
        made[name] = result.variants[0].path
    return made


@pytest.mark.slow
def test_module_reference_exports(zoo_exports):
    for path in zoo_exports.values():
        assert_light_equals_onnx(onnx.load(str(path)))


@pytest.mark.slow
def test_a_fixed_batch_graph_counts_per_sample(zoo_exports):
    graph = read_onnx_graph(zoo_exports["modulated4"])
    assert graph.feeds[0].shape == (4, 16)  # the fixed batch, in the file
    fixed, dynamic = count_file_flops(zoo_exports["modulated4"]), count_file_flops(zoo_exports["modulated"])
    assert fixed.graph_batch == 4 and dynamic.graph_batch == 1
    assert fixed.total == dynamic.total > 0  # the same generator: the same FLOPs per image


def _model(nodes, inputs, outputs, inits=(), opset=20):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _x(name="x", shape=("batch", 4, 8, 8), dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def _y(name="y"):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, None)


def _w(name, shape, dtype=np.float32):
    return numpy_helper.from_array(np.ones(shape, dtype), name)


def _i64(name, values):
    return numpy_helper.from_array(np.array(values, np.int64), name)


CASES = {
    "conv strided, dilated, grouped, padded": (
        [helper.make_node("Conv", ["x", "w", "b"], ["y"], strides=[2, 2], dilations=[2, 1], group=2, pads=[1, 0, 2, 1])],
        [_x()], [_w("w", (6, 2, 3, 3)), _w("b", (6,))]),
    "conv auto_pad SAME_UPPER": (
        [helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 2], auto_pad="SAME_UPPER")], [_x()], [_w("w", (4, 4, 3, 3))]),
    "conv_transpose output_padding": (
        [helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1])],
        [_x()], [_w("w", (4, 3, 3, 3)), _w("b", (3,))]),
    "conv_transpose output_shape, groups": (
        [helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], group=2, output_shape=[17, 17])],
        [_x()], [_w("w", (4, 2, 3, 3))]),
    "pools and reductions": (
        [helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
         helper.make_node("AveragePool", ["p"], ["a"], kernel_shape=[2, 2], pads=[1, 1, 1, 1]),
         helper.make_node("GlobalAveragePool", ["a"], ["g"]),
         helper.make_node("ReduceMean", ["x", "axes"], ["m"], keepdims=0),
         helper.make_node("ReduceSum", ["m"], ["s"]),
         helper.make_node("Add", ["g", "s"], ["y"])],
        [_x()], [_i64("axes", [2, 3])]),
    "gemm transposed, matmul broadcast and 1-D": (
        [helper.make_node("Flatten", ["x"], ["f"], axis=1),
         helper.make_node("Gemm", ["wt", "f"], ["g"], transA=1, transB=1),
         helper.make_node("MatMul", ["g", "v"], ["y"]),
         helper.make_node("MatMul", ["t", "u"], ["z"])],
        [_x(), _x("t", (2, 1, 5, 6))], [_w("wt", (256, 7)), _w("v", (1,)), _w("u", (3, 6, 2))]),
    "resize by scales and sizes, upsample, depth/space": (
        [helper.make_node("Resize", ["x", "", "scales"], ["r"], mode="linear"),
         helper.make_node("Resize", ["r", "", "", "sizes"], ["s"], mode="cubic"),
         helper.make_node("DepthToSpace", ["s"], ["d"], blocksize=2),
         helper.make_node("SpaceToDepth", ["d"], ["y"], blocksize=2)],
        [_x()], [numpy_helper.from_array(np.array([1, 1, 1.5, 2], np.float32), "scales"), _i64("sizes", [1, 4, 10, 10])]),
    "upsample opset 9": (
        [helper.make_node("Upsample", ["x", "scales"], ["y"], mode="linear")],
        [_x()], [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")], 9),
    "shape arithmetic feeding reshape": (
        [helper.make_node("Shape", ["x"], ["shape"]),
         helper.make_node("Gather", ["shape", "zero"], ["n"], axis=0),
         helper.make_node("Unsqueeze", ["n", "zero1"], ["n1"]),
         helper.make_node("Slice", ["shape", "one", "three"], ["ch"]),
         helper.make_node("Mul", ["ch", "two"], ["ch2"]),
         helper.make_node("Sub", ["ch2", "ch"], ["half"]),  # onnx's data propagation has no Div
         helper.make_node("Concat", ["n1", "half", "minus"], ["target"], axis=0),
         helper.make_node("Reshape", ["x", "target"], ["r"]),
         helper.make_node("Transpose", ["r"], ["t"], perm=[0, 3, 1, 2]),
         helper.make_node("Squeeze", ["t", "sq"], ["y"])],
        [_x(shape=("batch", 4, 8, 1))],
        [numpy_helper.from_array(np.array(0, np.int64), "zero"), _i64("zero1", [0]), _i64("one", [1]),
         _i64("three", [3]), _i64("two", [2]), _i64("minus", [-1]), _i64("sq", [1])]),
    "constant of a computed shape, range": (
        [helper.make_node("Shape", ["x"], ["shape"], start=1, end=3),
         helper.make_node("Add", ["shape", "two"], ["bigger"]),
         helper.make_node("ConstantOfShape", ["bigger"], ["c"]),
         helper.make_node("Range", ["zero", "ten", "one"], ["r"]),
         helper.make_node("Cast", ["r"], ["rf"], to=TensorProto.FLOAT),
         helper.make_node("Add", ["c", "rf"], ["y"])],
        [_x()], [_i64("two", [2]), *(numpy_helper.from_array(np.array(v, np.int64), n)
                                     for n, v in (("zero", 0), ("ten", 10), ("one", 1)))]),
    "split, pad, tile, expand, concat, where, clip, constant": (
        [helper.make_node("Split", ["x", "parts"], ["a", "b"], axis=1),
         helper.make_node("Pad", ["a", "pads"], ["p"], mode="reflect"),
         helper.make_node("Tile", ["b", "reps"], ["t"]),
         helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(np.zeros((1, 1, 1, 1), np.float32))),
         helper.make_node("Expand", ["c", "eshape"], ["e"]),
         helper.make_node("Concat", ["p", "e"], ["cat"], axis=1),
         helper.make_node("Greater", ["cat", "c"], ["mask"]),
         helper.make_node("Where", ["mask", "cat", "c"], ["w"]),
         helper.make_node("Clip", ["w", "lo", "hi"], ["y"])],
        [_x()], [_i64("parts", [1, 3]), _i64("pads", [0, 0, 1, 1, 0, 0, 1, 1]), _i64("reps", [1, 1, 2, 1]),
                 _i64("eshape", [1, 2, 10, 10]), numpy_helper.from_array(np.array(-1, np.float32), "lo"),
                 numpy_helper.from_array(np.array(1, np.float32), "hi")]),
    "normalizations and activations": (
        [helper.make_node("BatchNormalization", ["x", "s", "s", "s", "s"], ["bn"]),
         helper.make_node("InstanceNormalization", ["bn", "s", "s"], ["inorm"]),
         helper.make_node("LayerNormalization", ["inorm", "ln", "ln"], ["ln_out"], axis=-1),
         helper.make_node("Softmax", ["ln_out"], ["sm"], axis=1),
         helper.make_node("PRelu", ["sm", "slope"], ["pr"]),
         helper.make_node("HardSwish", ["pr"], ["y"])],
        [_x()], [_w("s", (4,)), _w("ln", (8,)), _w("slope", (4, 1, 1))]),
    "a fixed batch of 3": (
        [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c"], ["y"])],
        [_x(shape=(3, 4, 8, 8))], [_w("w", (2, 4, 3, 3))]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_rule_matches_onnx_shape_inference(case):
    nodes, inputs, inits, *opset = CASES[case]
    outputs = [_y(name) for name in dict.fromkeys(o for n in nodes for o in n.output)
               if not any(name in n.input for n in nodes)]
    assert_light_equals_onnx(_model(nodes, inputs, outputs, inits, *(opset or [20])))


def test_a_fixed_batch_is_divided_out():
    nodes, inputs, inits = CASES["a fixed batch of 3"]
    count = count_graph_flops(read_onnx_graph(_model(nodes, inputs, [_y()], inits).SerializeToString()))
    assert count.graph_batch == 3
    assert count.by_op == {"Conv": 2 * 2 * 64 * 4 * 9, "Relu": 2 * 64}


def test_unknown_ops_and_custom_domains_are_listed_not_guessed():
    x = _x(shape=("batch", 4))
    nodes = [helper.make_node("Hardmax", ["x"], ["h"]), helper.make_node("NonZero", ["h"], ["nz"]),
             helper.make_node("Relu", ["nz"], ["r"]),
             helper.make_node("FusedGemm", ["x", "x"], ["y"], domain="com.microsoft")]
    model = _model(nodes, [x], [_y("r"), _y()])
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    count = count_graph_flops(read_onnx_graph(model.SerializeToString()))
    assert not count.exact and count.total == 0
    assert count.unknown_ops == ["Hardmax", "NonZero", "FusedGemm"]
    assert count.unknown_shapes == ["Relu"]  # after NonZero, whose output size depends on the data
