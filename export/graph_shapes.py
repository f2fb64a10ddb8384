"""Static shapes of every tensor in an ONNX graph at batch 1, without the onnx package.

A small shape propagation over :class:`ganedge.artifacts.onnx_graph.OnnxGraph`, for the FLOP
count (``flops.py``) where onnx's shape inference is not installed. The graph inputs' symbolic
first dimension is set to 1 (a fixed batch stays as it is), then each node's output shapes follow
from its inputs' shapes and, for the shape arithmetic exporters emit (Shape -> Gather -> Concat ->
Reshape), from the values of small integer tensors, which are propagated too. Where a rule is
missing or an input is unknown, a shape the file declares (``value_info``) is used when it has no
symbol but the batch's; otherwise the tensor stays unknown and the FLOP count says so.

Rules cover what generators are made of: here convolutions (transposed, grouped, padded,
auto_pad), Gemm/MatMul, pooling, elementwise ops with broadcasting, normalizations, reductions and
Resize/Upsample; in ``layout_shapes`` DepthToSpace/SpaceToDepth, the reshaping family (Reshape,
Flatten, Transpose, Squeeze, Unsqueeze, Concat, Split, Slice, Gather, Expand, Tile, Pad) and the
shape arithmetic. tests/export/test_graph_shapes.py holds the results to onnx's own shape
inference on our exports, on generators trained elsewhere and on a graph per rule.
"""

from __future__ import annotations

import functools
import math
from typing import Callable

from ganedge.artifacts.onnx_graph import Node, OnnxGraph, Tensor

Shape = tuple[int, ...]


class UnknownShape(Exception):
    """A rule cannot give this output's shape."""


class ShapeState:
    def __init__(self, graph: OnnxGraph):
        self.graph = graph
        self.shapes: dict[str, Shape] = {}
        self.values: dict[str, tuple] = {}  # flattened values of small tensors (shapes, axes, scales)

    def shape(self, name: str) -> Shape:
        if not name or name not in self.shapes:
            raise UnknownShape(name)
        return self.shapes[name]

    def value(self, name: str) -> tuple:
        if not name or name not in self.values:
            raise UnknownShape(name)
        return self.values[name]

    def ints(self, name: str) -> list[int]:
        return [int(v) for v in self.value(name)]


def infer_shapes(graph: OnnxGraph, batch: int = 1) -> dict[str, Shape]:
    """Static shape of every tensor whose shape can be worked out, with a dynamic batch set to ``batch``."""
    state = ShapeState(graph)
    symbols = _batch_symbols(graph)
    for tensor in graph.initializers.values():
        _set_tensor(state, tensor.name, tensor)
    for value in graph.feeds:
        if value.shape is not None:
            dims = tuple(batch if i == 0 and not isinstance(d, int) else d for i, d in enumerate(value.shape))
            if all(isinstance(d, int) and d >= 0 for d in dims):
                state.shapes[value.name] = dims
    declared = {v.name: v.shape for v in graph.value_info + graph.outputs if v.shape is not None}
    for node in graph.nodes:
        try:
            shapes = _infer_node(state, node)
        except (UnknownShape, ValueError, TypeError, IndexError, KeyError, ZeroDivisionError, OverflowError):
            shapes = {}
        for name in node.outputs:
            if not name:
                continue
            if name in shapes:
                state.shapes[name] = shapes[name]
            elif name in declared:
                dims = tuple(batch if d in symbols else d for d in declared[name])
                if all(isinstance(d, int) and d >= 0 for d in dims):
                    state.shapes[name] = dims
    return state.shapes


def _batch_symbols(graph: OnnxGraph) -> set:
    """The symbols naming the batch: the first dimension of each fed input, when symbolic."""
    return {v.shape[0] for v in graph.feeds if v.shape and isinstance(v.shape[0], str)}


def _set_tensor(state: ShapeState, name: str, tensor: Tensor) -> None:
    state.shapes[name] = tensor.dims
    if tensor.values is not None:
        state.values[name] = tensor.values


def _infer_node(state: ShapeState, node: Node) -> dict[str, Shape]:
    op = node.op_type if node.domain in ("", "ai.onnx") else None
    if op == "Constant":
        return _constant(state, node)
    rule = _rules().get(op)
    if rule is None:
        raise UnknownShape(node.op_type)
    result = rule(state, node)
    if isinstance(result, tuple):  # one output
        return {node.outputs[0]: result}
    return result


def _constant(state: ShapeState, node: Node) -> dict[str, Shape]:
    out = node.outputs[0]
    tensor = node.attr("value")
    if isinstance(tensor, Tensor):
        _set_tensor(state, out, tensor)
        return {out: tensor.dims}
    for key, scalar in (("value_int", True), ("value_float", True), ("value_ints", False), ("value_floats", False)):
        if key in node.attributes:
            value = node.attributes[key]
            state.values[out] = (value,) if scalar else tuple(value)
            return {out: () if scalar else (len(value),)}
    raise UnknownShape("Constant")


# --- elementwise --------------------------------------------------------------------------


def broadcast(*shapes: Shape) -> Shape:
    """numpy's multidirectional broadcasting; ValueError when the shapes do not broadcast."""
    rank = max(len(s) for s in shapes)
    out = []
    for axis in range(rank):
        dims = {s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0} - {1}
        if len(dims) > 1:
            raise ValueError(f"shapes {shapes} do not broadcast")
        out.append(dims.pop() if dims else 1)
    return tuple(out)


_ARITHMETIC: dict[str, Callable] = {"Add": lambda a, b: a + b, "Sub": lambda a, b: a - b,
                                    "Mul": lambda a, b: a * b, "Max": max, "Min": min,
                                    "Div": lambda a, b: a // b if isinstance(a, int) and isinstance(b, int) else a / b}


def _elementwise(state: ShapeState, node: Node) -> Shape:
    inputs = [name for name in node.inputs if name]
    if node.op_type == "Clip":
        inputs = inputs[:1]
    shape = broadcast(*(state.shape(name) for name in inputs))
    if node.op_type in _ARITHMETIC and len(inputs) == 2 and len(shape) <= 1:
        _arithmetic(state, node, inputs, math.prod(shape))
    return shape


def _arithmetic(state: ShapeState, node: Node, inputs: list[str], count: int) -> None:
    """Shape arithmetic on small 1-D tensors (e.g. a batch times channels)."""
    if all(name in state.values for name in inputs):
        a, b = (_stretch(state.values[name], count) for name in inputs)
        state.values[node.outputs[0]] = tuple(_ARITHMETIC[node.op_type](x, y) for x, y in zip(a, b))


def _stretch(values: tuple, count: int) -> tuple:
    return values * count if len(values) == 1 else values


def _same(state: ShapeState, node: Node) -> dict[str, Shape]:
    """Ops whose outputs all have their first input's shape (activations, casts, normalizations)."""
    shape = state.shape(node.inputs[0])
    if node.op_type in ("Identity", "Cast", "CastLike") and node.inputs[0] in state.values:
        state.values[node.outputs[0]] = state.values[node.inputs[0]]
    out = {node.outputs[0]: shape}
    if node.op_type == "Dropout" and len(node.outputs) > 1 and node.outputs[1]:
        out[node.outputs[1]] = shape
    return out


# --- convolutions, matrix products, pooling -----------------------------------------------


def _window(node: Node, spatial: Shape, kernel: Shape, transposed: bool = False) -> Shape:
    rank = len(spatial)
    strides = node.attr("strides") or [1] * rank
    dilations = node.attr("dilations") or [1] * rank
    pads = node.attr("pads") or [0] * (2 * rank)
    auto_pad = node.attr("auto_pad", "NOTSET") or "NOTSET"
    out = []
    for i in range(rank):
        extent = (kernel[i] - 1) * dilations[i] + 1
        if transposed:
            if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
                out.append(spatial[i] * strides[i])
                continue
            output_padding = (node.attr("output_padding") or [0] * rank)[i]
            total_pad = 0 if auto_pad == "VALID" else pads[i] + pads[i + rank]
            out.append(strides[i] * (spatial[i] - 1) + output_padding + extent - total_pad)
        elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            out.append(-(-spatial[i] // strides[i]))
        else:
            total_pad = 0 if auto_pad == "VALID" else pads[i] + pads[i + rank]
            span = spatial[i] + total_pad - extent
            steps = -(-span // strides[i]) if node.attr("ceil_mode", 0) else span // strides[i]
            out.append(steps + 1)
    return tuple(out)


def _conv(state: ShapeState, node: Node) -> Shape:
    x, w = state.shape(node.inputs[0]), state.shape(node.inputs[1])
    kernel = tuple(node.attr("kernel_shape") or w[2:])
    return (x[0], w[0]) + _window(node, x[2:], kernel)


def _conv_transpose(state: ShapeState, node: Node) -> Shape:
    x, w = state.shape(node.inputs[0]), state.shape(node.inputs[1])
    channels = w[1] * node.attr("group", 1)
    explicit = node.attr("output_shape")
    if explicit:
        return (x[0], channels) + tuple(explicit[-(len(x) - 2):])
    kernel = tuple(node.attr("kernel_shape") or w[2:])
    return (x[0], channels) + _window(node, x[2:], kernel, transposed=True)


def _pool(state: ShapeState, node: Node) -> dict[str, Shape]:
    x = state.shape(node.inputs[0])
    shape = x[:2] + _window(node, x[2:], tuple(node.attr("kernel_shape")))
    return {name: shape for name in node.outputs if name}  # MaxPool's indices too


def _global_pool(state: ShapeState, node: Node) -> Shape:
    x = state.shape(node.inputs[0])
    return x[:2] + (1,) * (len(x) - 2)


def _gemm(state: ShapeState, node: Node) -> Shape:
    a, b = state.shape(node.inputs[0]), state.shape(node.inputs[1])
    rows = a[1] if node.attr("transA", 0) else a[0]
    cols = b[0] if node.attr("transB", 0) else b[1]
    return rows, cols


def _matmul(state: ShapeState, node: Node) -> Shape:
    a, b = state.shape(node.inputs[0]), state.shape(node.inputs[1])
    if len(a) == 1 and len(b) == 1:
        return ()
    if len(a) == 1:
        return b[:-2] + b[-1:]
    if len(b) == 1:
        return a[:-1]
    if a[-1] != b[-2]:
        raise ValueError("inner dimensions differ")
    return broadcast(a[:-2], b[:-2]) + (a[-2], b[-1])


def _reduce(state: ShapeState, node: Node) -> Shape:
    x = state.shape(node.inputs[0])
    if len(node.inputs) > 1 and node.inputs[1]:
        axes = state.ints(node.inputs[1])
    else:
        axes = list(node.attr("axes") or [])
    if not axes:
        if node.attr("noop_with_empty_axes", 0):
            return x
        axes = list(range(len(x)))
    axes = {a % len(x) for a in axes}
    if node.attr("keepdims", 1):
        return tuple(1 if i in axes else d for i, d in enumerate(x))
    return tuple(d for i, d in enumerate(x) if i not in axes)


# --- resizing ---------------------------------------------------------------------------


def _resize(state: ShapeState, node: Node) -> Shape:
    x = state.shape(node.inputs[0])
    if node.op_type == "Upsample":
        scales = node.attr("scales") if len(node.inputs) < 2 else state.value(node.inputs[1])
        return tuple(int(math.floor(d * s)) for d, s in zip(x, scales))
    axes = node.attr("axes") or list(range(len(x)))
    sizes = node.inputs[3] if len(node.inputs) > 3 else ""
    out = list(x)
    if sizes and math.prod(state.shape(sizes)) > 0:
        if (node.attr("keep_aspect_ratio_policy", "stretch") or "stretch") != "stretch":
            raise UnknownShape("Resize keep_aspect_ratio_policy")
        for axis, size in zip(axes, state.ints(sizes)):
            out[axis % len(x)] = size
        return tuple(out)
    scales = state.value(node.inputs[2])
    for axis, scale in zip(axes, scales):
        out[axis % len(x)] = int(math.floor(x[axis % len(x)] * scale))
    return tuple(out)


_SAME_OPS = (
    "Relu LeakyRelu PRelu Tanh Sigmoid HardSigmoid HardSwish Elu Selu Celu Gelu Softplus Softsign Mish Exp Log Sqrt "
    "Reciprocal Neg Abs Erf Sin Cos Floor Ceil Round Sign Not ThresholdedRelu IsNaN IsInf Cast CastLike Identity "
    "Dropout QuantizeLinear DequantizeLinear BatchNormalization InstanceNormalization LayerNormalization "
    "GroupNormalization Softmax LogSoftmax LpNormalization Hardmax Shrink CumSum"
).split()
_BROADCAST_OPS = ("Add Sub Mul Div Pow Max Min Sum Mean Where Equal Greater Less GreaterOrEqual LessOrEqual And Or "
                  "Xor Mod BitShift Clip").split()

# op -> rule; layout_shapes.RULES adds the ops that move data or compute shapes.
_RULES: dict[str, Callable[[ShapeState, Node], Shape | dict[str, Shape]]] = {
    **{op: _same for op in _SAME_OPS},
    **{op: _elementwise for op in _BROADCAST_OPS},
    "Conv": _conv, "ConvTranspose": _conv_transpose, "Gemm": _gemm, "MatMul": _matmul,
    "AveragePool": _pool, "MaxPool": _pool, "LpPool": _pool,
    "GlobalAveragePool": _global_pool, "GlobalMaxPool": _global_pool, "GlobalLpPool": _global_pool,
    **{f"Reduce{k}": _reduce for k in ("Sum", "Mean", "Max", "Min", "Prod", "L1", "L2", "SumSquare", "LogSum",
                                       "LogSumExp")},
    "Resize": _resize, "Upsample": _resize,
}


@functools.lru_cache(maxsize=1)
def _rules() -> dict[str, Callable]:
    from ganedge.export import layout_shapes

    return {**_RULES, **layout_shapes.RULES}
