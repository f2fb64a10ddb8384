"""FLOPs per sample, counted from an ONNX graph (for ``inspect`` and the bench's roofline).

Counted at batch 1 (a graph with a fixed batch N is counted at N and divided by N), one
multiply-add = 2 FLOPs:
- Conv: 2 * out_elements * (C_in / group) * kernel_elements, plus one per output for a bias;
- ConvTranspose: 2 * in_elements * (C_out / group) * kernel_elements, plus the bias;
- MatMul / Gemm: 2 * M * N * K (plus M*N for Gemm's C);
- elementwise ops (activations, arithmetic): 1 per output element; normalizations a few;
- pure data movement is free: DepthToSpace, Reshape, Transpose, Concat, Gather, Cast, ...;
- quantization plumbing (QuantizeLinear/DequantizeLinear) is free too, so an int8 graph
  reports the math it does, the same figure as the float graph it came from.

What the hardware executes is counted, zeros included: the sub-pixel form of a stride-2,
kernel-4 ConvTranspose is a 3x3 Conv whose kernels are 4/9 zero, so it counts 2.25x the
FLOPs of the layer it replaced. Ops the counter does not know are listed, never guessed.

The graph is read by the pure-Python reader (``ganedge.artifacts.onnx_graph``) and its shapes come
from our own propagation (``graph_shapes``), so the count needs no onnx package: the light install's
``inspect`` and ``bench`` report the same numbers as a full one. :func:`count_flops` takes an
``onnx.ModelProto`` and uses onnx's shape inference instead; tests hold the two to the same result.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

from ganedge.artifacts.onnx_graph import Node, OnnxGraph, read_onnx_graph

FREE_OPS = frozenset(
    "DepthToSpace SpaceToDepth Reshape Transpose Concat Gather GatherElements GatherND Unsqueeze Squeeze Flatten "
    "Identity Slice Split Shape Size Constant ConstantOfShape Cast CastLike Expand Tile Pad Dropout QuantizeLinear "
    "DequantizeLinear Range".split()
)
ELEMENTWISE_OPS = frozenset(
    "Relu LeakyRelu PRelu Tanh Sigmoid HardSigmoid HardSwish Elu Selu Celu Gelu Softplus Softsign Mish Exp Log Sqrt "
    "Reciprocal Neg Abs Add Sub Mul Div Pow Max Min Sum Mean Clip Where Erf Sin Cos Floor Ceil Round Sign Equal "
    "Greater Less GreaterOrEqual LessOrEqual And Or Not Xor ThresholdedRelu".split()
)
# FLOPs per output element, roughly: mean/variance, normalize, scale and shift.
NORMALIZATION_OPS = {"BatchNormalization": 2, "InstanceNormalization": 5, "LayerNormalization": 5,
                     "GroupNormalization": 5, "Softmax": 3, "LogSoftmax": 4, "LpNormalization": 3}


@dataclass
class FlopCount:
    total: int = 0
    by_op: dict[str, int] = field(default_factory=dict)
    unknown_ops: list[str] = field(default_factory=list)  # op types counted as 0 because we could not
    unknown_shapes: list[str] = field(default_factory=list)  # nodes whose shapes inference could not pin down
    graph_batch: int = 1  # the graph's fixed batch the count was divided by (1: dynamic, counted at 1)

    def add(self, op: str, flops: int) -> None:
        self.total += flops
        self.by_op[op] = self.by_op.get(op, 0) + flops

    @property
    def exact(self) -> bool:
        return not self.unknown_ops and not self.unknown_shapes

    def to_dict(self) -> dict[str, Any]:
        return {"flops_per_sample": self.total, "by_op": dict(sorted(self.by_op.items(), key=lambda kv: -kv[1])),
                "exact": self.exact, "unknown_ops": self.unknown_ops, "unknown_shapes": self.unknown_shapes,
                "graph_batch": self.graph_batch}

    def per_sample(self, batch: int) -> FlopCount:
        """This count, made at a fixed ``batch``, divided by it (every counted op is linear in the batch)."""
        if batch <= 1:
            return self
        by_op = {op: round(n / batch) for op, n in self.by_op.items()}
        return FlopCount(sum(by_op.values()), by_op, self.unknown_ops, self.unknown_shapes, batch)


def count_file_flops(path: str | os.PathLike, graph: OnnxGraph | None = None) -> FlopCount:
    """FLOPs per sample of the ONNX file at ``path`` (``graph``: the file already read), without the onnx package.

    Where our shape propagation leaves a counted op's shapes unknown and onnx is installed, onnx's
    shape inference is tried too and the better-informed count kept.
    """
    graph = read_onnx_graph(path) if graph is None else graph
    count = count_graph_flops(graph)
    if not count.unknown_shapes:
        return count
    try:
        import onnx
    except ImportError:
        return count
    fallback = count_graph_flops(graph, _shapes_at_batch_one(onnx.load(str(path), load_external_data=False)))
    return fallback if len(fallback.unknown_shapes) < len(count.unknown_shapes) else count


def count_flops(model) -> FlopCount:
    """FLOPs of one sample through ``model`` (an onnx.ModelProto), its shapes from onnx's shape inference."""
    return count_graph_flops(read_onnx_graph(model.SerializeToString()), _shapes_at_batch_one(model))


def count_graph_flops(graph: OnnxGraph, shapes: dict[str, Any] | None = None) -> FlopCount:
    """FLOPs of one sample through ``graph``; ``shapes`` (tensor name -> dims at the graph's batch) default to
    our own propagation (:func:`ganedge.export.graph_shapes.infer_shapes`)."""
    from ganedge.export.graph_shapes import infer_shapes

    shapes = dict(infer_shapes(graph) if shapes is None else shapes)
    shapes.update({name: list(t.dims) for name, t in graph.initializers.items()})
    count = FlopCount()
    for node in graph.nodes:
        op = node.op_type
        if op in FREE_OPS:
            continue
        out = shapes.get(node.outputs[0]) if node.outputs else None
        ins = [shapes.get(i) if i else None for i in node.inputs]
        try:
            flops = _node_flops(node, op, ins, out)
        except (TypeError, IndexError, ValueError):
            flops = None
        if flops is None:
            if op in ELEMENTWISE_OPS or op in NORMALIZATION_OPS or op in _COUNTED:
                count.unknown_shapes.append(node.name or op)
            elif op not in count.unknown_ops:
                count.unknown_ops.append(op)
            continue
        count.add(op, int(flops))
    return count.per_sample(_fixed_batch(graph))


def _fixed_batch(graph: OnnxGraph) -> int:
    """The first fed input's batch when the graph fixes it, else 1 (a dynamic batch is counted at 1)."""
    feeds = graph.feeds
    first = feeds[0].shape[0] if feeds and feeds[0].shape else None
    return first if isinstance(first, int) and first > 1 else 1


_COUNTED = {"Conv", "ConvTranspose", "MatMul", "Gemm", "AveragePool", "MaxPool", "GlobalAveragePool",
            "GlobalMaxPool", "Resize", "Upsample"} | {f"Reduce{k}" for k in
                                                     ("Sum", "Mean", "Max", "Min", "Prod", "L1", "L2", "SumSquare")}


def _node_flops(node: Node, op: str, ins: list, out: list | None) -> int | None:
    if out is None or any(not isinstance(d, int) or d < 0 for d in out):
        return None
    out_elems = math.prod(out)
    if op == "Conv":
        weight = ins[1]  # (C_out, C_in/group, *kernel)
        bias = out_elems if len(ins) > 2 and ins[2] is not None else 0
        return 2 * out_elems * weight[1] * math.prod(weight[2:]) + bias
    if op == "ConvTranspose":
        x, weight = ins[0], ins[1]  # x (N, C_in, *spatial), weight (C_in, C_out/group, *kernel)
        bias = out_elems if len(ins) > 2 and ins[2] is not None else 0
        return 2 * math.prod(x) * weight[1] * math.prod(weight[2:]) + bias
    if op == "MatMul":
        k = ins[0][-1]
        return 2 * out_elems * k
    if op == "Gemm":
        k = ins[0][0] if node.attr("transA", 0) else ins[0][1]
        bias = out_elems if len(ins) > 2 and ins[2] is not None else 0
        return 2 * out_elems * k + bias
    if op in ELEMENTWISE_OPS:
        return out_elems
    if op in NORMALIZATION_OPS:
        return NORMALIZATION_OPS[op] * out_elems
    if op in ("AveragePool", "MaxPool"):
        return out_elems * math.prod(node.attr("kernel_shape") or [1])
    if op in ("GlobalAveragePool", "GlobalMaxPool") or op.startswith("Reduce"):
        return math.prod(ins[0])
    if op in ("Resize", "Upsample"):
        return 0 if node.attr("mode", "nearest") == "nearest" else 4 * out_elems  # bilinear: ~4 multiply-adds per output
    return None


def _shapes_at_batch_one(model) -> dict[str, list]:
    """Shapes of every tensor with the graph inputs' symbolic first dimension set to 1."""
    import onnx

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    inits = {t.name for t in copy.graph.initializer}
    for value in copy.graph.input:
        if value.name in inits:
            continue
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].Clear()
            dims[0].dim_value = 1
    for value in copy.graph.output:  # let inference fill the output's batch instead of keeping "batch"
        dims = value.type.tensor_type.shape.dim
        if dims and dims[0].HasField("dim_param"):
            dims[0].Clear()
    try:
        inferred = onnx.shape_inference.infer_shapes(copy, data_prop=True)
    except Exception:  # fall back to what the file declares
        inferred = copy
    shapes = {}
    for value in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        if value.type.tensor_type.HasField("shape"):
            shapes[value.name] = [d.dim_value if d.HasField("dim_value") else None
                                  for d in value.type.tensor_type.shape.dim]
    return shapes
