"""The pure-Python graph reader (ganedge.artifacts.onnx_graph) reads what onnx reads, field by field."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ganedge.artifacts.onnx_graph import SMALL_TENSOR, Subgraph, Tensor, read_onnx_graph
from ganedge.errors import ArtifactError


def _dims(value) -> tuple:
    return tuple(d.dim_param if d.HasField("dim_param") else d.dim_value if d.HasField("dim_value") else None
                 for d in value.type.tensor_type.shape.dim)


def _same_value(ours, theirs) -> bool:
    if isinstance(theirs, bytes):
        return ours == theirs.decode()
    if isinstance(theirs, onnx.TensorProto):
        return _same_tensor(ours, theirs)
    if isinstance(theirs, onnx.GraphProto):
        return isinstance(ours, Subgraph)
    if isinstance(theirs, list):
        return len(ours) == len(theirs) and all(_same_value(a, b) for a, b in zip(ours, theirs))
    if isinstance(theirs, float):
        return np.float32(theirs) == np.float32(ours)
    return ours == theirs


def _same_tensor(ours: Tensor, theirs: onnx.TensorProto) -> bool:
    if (ours.name, ours.data_type, ours.dims) != (theirs.name, theirs.data_type, tuple(theirs.dims)):
        return False
    if ours.values is None:  # large, external, or a type shapes never use
        return ours.elements > SMALL_TENSOR or ours.external or theirs.data_type not in (1, 2, 3, 5, 6, 7, 9, 10, 11)
    return np.array_equal(np.asarray(ours.values).ravel(), numpy_helper.to_array(theirs).ravel())


def assert_reads_like_onnx(model: onnx.ModelProto) -> None:
    graph = read_onnx_graph(model.SerializeToString())
    assert graph.ir_version == model.ir_version
    assert graph.opsets == {o.domain: o.version for o in model.opset_import}
    assert (graph.producer_name, graph.producer_version) == (model.producer_name, model.producer_version)
    assert graph.metadata == {p.key: p.value for p in model.metadata_props}
    for ours, theirs in ((graph.inputs, model.graph.input), (graph.outputs, model.graph.output),
                         (graph.value_info, model.graph.value_info)):
        assert [(v.name, v.elem_type, v.shape or ()) for v in ours] == \
            [(v.name, v.type.tensor_type.elem_type, _dims(v)) for v in theirs]
    assert len(graph.nodes) == len(model.graph.node)
    for ours, theirs in zip(graph.nodes, model.graph.node):
        assert (ours.op_type, ours.domain, ours.name, ours.inputs, ours.outputs) == \
            (theirs.op_type, theirs.domain, theirs.name, tuple(theirs.input), tuple(theirs.output))
        assert set(ours.attributes) == {a.name for a in theirs.attribute}
        for attribute in theirs.attribute:
            value = helper.get_attribute_value(attribute)
            assert _same_value(ours.attributes[attribute.name], value), (theirs.name, attribute.name)
    assert list(graph.initializers) == [t.name for t in model.graph.initializer]
    for tensor in model.graph.initializer:
        assert _same_tensor(graph.initializers[tensor.name], tensor), tensor.name


def test_our_exports_read_like_onnx_reads_them(dcgan_all, cond_exports):
    _, folder = dcgan_all
    for path in (folder / "model.onnx", folder / "model.fp16.onnx", folder / "model.int8.onnx",
                 cond_exports["dcgan"].variants[0].path, cond_exports["mlp"].variants[0].path):
        assert_reads_like_onnx(onnx.load(str(path)))
        assert read_onnx_graph(path).nodes == read_onnx_graph(path.read_bytes()).nodes  # file (mmap) and bytes


def _typed_tensor(name, array, field):
    """A TensorProto holding ``array`` in a typed field (not raw_data), as older writers store it."""
    tensor = TensorProto(name=name, dims=list(array.shape), data_type=helper.np_dtype_to_tensor_dtype(array.dtype))
    getattr(tensor, field).extend(array.ravel().tolist() if field != "int32_data" or array.dtype != np.float16
                                  else array.view(np.uint16).ravel().tolist())
    return tensor


def test_every_kind_of_attribute_and_tensor_storage():
    branch = helper.make_graph([helper.make_node("Identity", ["x"], ["o"])], "b", [],
                               [helper.make_tensor_value_info("o", TensorProto.FLOAT, [1])])
    inits = [_typed_tensor("f", np.array([1.5, -2.25], np.float32), "float_data"),
             _typed_tensor("i64", np.array([-1, 0, 2**40], np.int64), "int64_data"),
             _typed_tensor("i8", np.array([-3, 7], np.int8), "int32_data"),
             _typed_tensor("h", np.array([0.5, -1.0], np.float16), "int32_data"),
             _typed_tensor("d", np.array([0.1], np.float64), "double_data"),
             _typed_tensor("u64", np.array([3], np.uint64), "uint64_data"),
             numpy_helper.from_array(np.array([True, False]), "b"),
             numpy_helper.from_array(np.zeros((9, 9), np.float32), "big")]  # 81 > SMALL_TENSOR: no values
    node = helper.make_node("Custom", ["x", ""], ["y"], name="n", domain="example.org", f=0.1, i=-7, s="text",
                            t=numpy_helper.from_array(np.array([4, 5], np.int64)), floats=[1.0, 0.25],
                            ints=[-1, 2, 3], strings=["a", "b"], g=branch)
    node.attribute.append(helper.make_attribute("empty_ints", [], attr_type=onnx.AttributeProto.INTS))
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", None, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20), helper.make_opsetid("example.org", 1)],
                              producer_name="someone", producer_version="1.2")
    helper.set_model_props(model, {"k": "v", "ganedge": "{}"})
    assert_reads_like_onnx(model)
    ours = read_onnx_graph(model.SerializeToString())
    assert ours.initializers["i64"].values == (-1, 0, 2**40) and ours.initializers["h"].values == (0.5, -1.0)
    assert ours.initializers["big"].values is None and ours.initializers["big"].nbytes == 81 * 4
    assert ours.nodes[0].attr("i") == -7 and ours.nodes[0].attr("empty_ints") == []
    assert ours.nodes[0].qualified_op == "example.org::Custom" and ours.feeds[0].shape == ("n", None, 3)


def test_external_tensors_are_flagged_and_never_read():
    weight = numpy_helper.from_array(np.ones(4, np.float32), "w")
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    entry = weight.external_data.add()
    entry.key, entry.value = "location", "w.bin"
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], [weight])
    tensor = read_onnx_graph(helper.make_model(graph).SerializeToString()).initializers["w"]
    assert tensor.external and tensor.values is None and tensor.dims == (4,)


@pytest.mark.parametrize("data", [b"\x0a\xff\xff\xff\x0f", b"\x08\x07", b"\xff" * 12, b"\x3a\x05\x0a\x03"])
def test_junk_and_truncated_bytes_are_an_artifact_error(data, tmp_path):
    with pytest.raises(ArtifactError, match="not a readable ONNX model"):
        read_onnx_graph(data)
    path = tmp_path / "junk.onnx"
    path.write_bytes(data)
    with pytest.raises(ArtifactError):
        read_onnx_graph(path)
