"""Shape rules of the ops that move data or compute shapes, for :mod:`ganedge.export.graph_shapes`.

DepthToSpace/SpaceToDepth, Reshape, Flatten, Transpose, Squeeze/Unsqueeze, Concat, Split, Slice,
Gather, Expand, Tile, Pad, and the shape arithmetic exporters emit (Shape, Size, ConstantOfShape,
Range), whose small integer values are propagated so a Reshape built from them is resolved.
"""

from __future__ import annotations

import math

from ganedge.artifacts.onnx_graph import Node
from ganedge.export.graph_shapes import Shape, ShapeState, broadcast


def _depth_to_space(state: ShapeState, node: Node) -> Shape:
    n, c, h, w = state.shape(node.inputs[0])
    b = node.attr("blocksize")
    if node.op_type == "DepthToSpace":
        return n, c // (b * b), h * b, w * b
    return n, c * b * b, h // b, w // b


def _reshape(state: ShapeState, node: Node) -> Shape:
    x = state.shape(node.inputs[0])
    target = state.ints(node.inputs[1])
    allow_zero = node.attr("allowzero", 0)
    dims = [x[i] if d == 0 and not allow_zero else d for i, d in enumerate(target)]
    if -1 in dims:
        known = math.prod(d for d in dims if d != -1)
        dims[dims.index(-1)] = math.prod(x) // known if known else 0
    if math.prod(dims) != math.prod(x):
        raise ValueError("reshape changes the element count")
    _pass_values(state, node)
    return tuple(dims)


def _pass_values(state: ShapeState, node: Node) -> None:
    if node.inputs[0] in state.values:
        state.values[node.outputs[0]] = state.values[node.inputs[0]]


def _flatten(state: ShapeState, node: Node) -> Shape:
    x = state.shape(node.inputs[0])
    axis = node.attr("axis", 1) % (len(x) + 1) if x else 0
    return math.prod(x[:axis]), math.prod(x[axis:])


def _transpose(state: ShapeState, node: Node) -> Shape:
    x = state.shape(node.inputs[0])
    perm = node.attr("perm") or list(reversed(range(len(x))))
    return tuple(x[p] for p in perm)


def _axes(state: ShapeState, node: Node) -> list[int]:
    if len(node.inputs) > 1 and node.inputs[1]:
        return state.ints(node.inputs[1])
    return list(node.attr("axes") or [])


def _squeeze(state: ShapeState, node: Node) -> Shape:
    x = state.shape(node.inputs[0])
    axes = {a % len(x) for a in _axes(state, node)} or {i for i, d in enumerate(x) if d == 1}
    if any(x[a] != 1 for a in axes):
        raise ValueError("Squeeze of an axis that is not 1")
    _pass_values(state, node)
    return tuple(d for i, d in enumerate(x) if i not in axes)


def _unsqueeze(state: ShapeState, node: Node) -> Shape:
    x = list(state.shape(node.inputs[0]))
    axes = _axes(state, node)
    rank = len(x) + len(axes)
    for axis in sorted(a % rank for a in axes):
        x.insert(axis, 1)
    _pass_values(state, node)
    return tuple(x)


def _concat(state: ShapeState, node: Node) -> Shape:
    inputs = [name for name in node.inputs if name]
    shapes = [state.shape(name) for name in inputs]
    axis = node.attr("axis") % len(shapes[0])
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    if len(out) == 1 and all(name in state.values for name in inputs):
        state.values[node.outputs[0]] = tuple(v for name in inputs for v in state.values[name])
    return tuple(out)


def _split(state: ShapeState, node: Node) -> dict[str, Shape]:
    x = state.shape(node.inputs[0])
    axis = node.attr("axis", 0) % len(x)
    outputs = [name for name in node.outputs]
    if len(node.inputs) > 1 and node.inputs[1]:
        sizes = state.ints(node.inputs[1])
    elif node.attr("split"):
        sizes = list(node.attr("split"))
    else:
        parts = node.attr("num_outputs", len(outputs))
        chunk = -(-x[axis] // parts)
        sizes = [min(chunk, x[axis] - i * chunk) for i in range(parts)]
    return {name: x[:axis] + (size,) + x[axis + 1:] for name, size in zip(outputs, sizes) if name}


def _slice(state: ShapeState, node: Node) -> Shape:
    x = state.shape(node.inputs[0])
    if len(node.inputs) > 1:  # opset 10+: starts, ends, axes, steps are inputs
        starts, ends = state.ints(node.inputs[1]), state.ints(node.inputs[2])
        axes = state.ints(node.inputs[3]) if len(node.inputs) > 3 and node.inputs[3] else list(range(len(starts)))
        steps = state.ints(node.inputs[4]) if len(node.inputs) > 4 and node.inputs[4] else [1] * len(starts)
    else:
        starts, ends = list(node.attr("starts")), list(node.attr("ends"))
        axes, steps = list(node.attr("axes") or range(len(starts))), [1] * len(starts)
    out = list(x)
    ranges = []
    for start, end, axis, step in zip(starts, ends, axes, steps):
        axis %= len(x)
        indices = range(*slice(start, end, step).indices(x[axis]))
        out[axis] = len(indices)
        ranges.append((axis, indices))
    if len(x) == 1 and node.inputs[0] in state.values and ranges:
        values = state.values[node.inputs[0]]
        state.values[node.outputs[0]] = tuple(values[i] for i in ranges[0][1])
    return tuple(out)


def _gather(state: ShapeState, node: Node) -> Shape:
    data, indices = state.shape(node.inputs[0]), state.shape(node.inputs[1])
    axis = node.attr("axis", 0) % len(data)
    if len(data) == 1 and node.inputs[0] in state.values and node.inputs[1] in state.values:
        values = state.values[node.inputs[0]]
        state.values[node.outputs[0]] = tuple(values[int(i)] for i in state.values[node.inputs[1]])
    return data[:axis] + indices + data[axis + 1:]


def _shape(state: ShapeState, node: Node) -> Shape:
    x = state.shape(node.inputs[0])
    start, end = node.attr("start", 0), node.attr("end", len(x))
    dims = x[slice(start, end)]
    state.values[node.outputs[0]] = dims
    return (len(dims),)


def _size(state: ShapeState, node: Node) -> Shape:
    state.values[node.outputs[0]] = (math.prod(state.shape(node.inputs[0])),)
    return ()


def _expand(state: ShapeState, node: Node) -> Shape:
    return broadcast(state.shape(node.inputs[0]), tuple(state.ints(node.inputs[1])))


def _tile(state: ShapeState, node: Node) -> Shape:
    return tuple(d * r for d, r in zip(state.shape(node.inputs[0]), state.ints(node.inputs[1])))


def _pad(state: ShapeState, node: Node) -> Shape:
    x = list(state.shape(node.inputs[0]))
    pads = state.ints(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else list(node.attr("pads"))
    axes = state.ints(node.inputs[3]) if len(node.inputs) > 3 and node.inputs[3] else list(range(len(x)))
    for i, axis in enumerate(axes):
        x[axis % len(x)] += pads[i] + pads[i + len(axes)]
    return tuple(x)


def _constant_of_shape(state: ShapeState, node: Node) -> Shape:
    return tuple(state.ints(node.inputs[0]))


def _range(state: ShapeState, node: Node) -> Shape:
    start, limit, delta = (state.value(name)[0] for name in node.inputs[:3])
    return (max(math.ceil((limit - start) / delta), 0),)


RULES = {
    "DepthToSpace": _depth_to_space, "SpaceToDepth": _depth_to_space, "Reshape": _reshape, "Flatten": _flatten,
    "Transpose": _transpose, "Squeeze": _squeeze, "Unsqueeze": _unsqueeze, "Concat": _concat, "Split": _split,
    "Slice": _slice, "Gather": _gather, "Shape": _shape, "Size": _size, "Expand": _expand, "Tile": _tile, "Pad": _pad,
    "ConstantOfShape": _constant_of_shape, "Range": _range,
}
