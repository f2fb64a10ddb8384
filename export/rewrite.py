"""Graph passes on ONNX models: the sub-pixel ConvTranspose rewrite.

A stride-s ConvTranspose equals a stride-1 Conv producing s*s times the channels followed by
DepthToSpace(s) (the "sub-pixel" form, Shi et al. 2016): output pixel ``o = q*s + r`` of phase
``r`` only ever meets the kernel taps ``t = (r + pad) mod s + m*s``. Re-indexing the kernel per
phase gives one ordinary convolution whose output channels are (channel, phase-y, phase-x), and
DepthToSpace in CRD mode puts each phase back at its pixel. The result is exact: every output
is the same sum of the same products (only the summation order may differ, ~1e-7).

Why: onnxruntime has fast int8 Conv kernels but runs QDQ ConvTranspose slowly, so int8 only
beats fp32 once the graph has no ConvTranspose (measured on DCGAN; see export/settings.py).

One derivation per spatial axis, for input length L, kernel k, stride s, begin pad p:
    y[q*s + r] = sum_m x[q + c_r - m] * w[t0_r + m*s],   t0_r = (r+p) mod s,  c_r = (r+p) // s,
    m = 0 .. M_r-1 with M_r = ceil((k - t0_r) / s).
The Conv kernel spans offsets lo..hi = min(c_r - M_r + 1) .. max(c_r), with begin pad -lo.
A ConvTranspose on a 1x1 input (DCGAN's first layer) ignores its stride, so it is rewritten
with s = k: a 1x1 Conv to C*k*k channels, then DepthToSpace(k) — a Gemm in disguise.

After the rewrite, an elementwise activation right after DepthToSpace is moved in front of it
(``act(d2s(x)) == d2s(act(x))`` for any per-element function), so the quantizer sees
Conv -> Relu and onnxruntime fuses the pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Per-element ops that commute with DepthToSpace (pure data movement).
_ELEMENTWISE_UNARY = {"Relu", "LeakyRelu", "Tanh", "Sigmoid", "Elu", "Selu", "Softplus", "HardSigmoid", "Gelu"}


@dataclass(frozen=True)
class AxisPlan:
    """How one spatial axis of a ConvTranspose maps onto the sub-pixel Conv."""

    stride: int  # DepthToSpace block size along this axis
    kernel: int  # Conv kernel length
    pad_begin: int
    pad_end: int
    taps: tuple[tuple[int, int, int], ...]  # (phase r, conv tap j, transposed-conv tap t)


@dataclass(frozen=True)
class RewriteRecord:
    node: str
    input_hw: tuple[int, int]
    block: int
    conv_kernel: tuple[int, int]

    def describe(self) -> str:
        kh, kw = self.conv_kernel
        return f"{self.node}: ConvTranspose -> Conv {kh}x{kw} + DepthToSpace({self.block})"


def plan_axis(length: int, kernel: int, stride: int, pad_begin: int, pad_end: int,
              output_padding: int = 0) -> AxisPlan | None:
    """The sub-pixel plan for one axis, or None when this axis cannot be rewritten exactly."""
    if length == 1 and stride != kernel and pad_begin == pad_end == output_padding == 0:
        stride = kernel  # one input pixel: the stride never comes into play (see module docstring)
    out_len = (length - 1) * stride + kernel - pad_begin - pad_end + output_padding
    if stride < 1 or pad_begin < 0 or out_len < 1 or out_len % stride:
        return None
    q_len = out_len // stride
    taps, offsets = [], []
    for r in range(stride):
        t0, c = (r + pad_begin) % stride, (r + pad_begin) // stride
        count = max(0, math.ceil((kernel - t0) / stride))
        for m in range(count):
            offsets.append(c - m)
            taps.append((r, c - m, t0 + m * stride))
    if not taps:
        return None
    lo, hi = min(offsets), max(offsets)
    begin, end = -lo, (q_len - 1) + hi - (length - 1)
    if begin < 0 or end < 0:
        return None  # would need a crop; no exporter we know emits such a layer
    return AxisPlan(stride=stride, kernel=hi - lo + 1, pad_begin=begin, pad_end=end,
                    taps=tuple((r, j - lo, t) for r, j, t in taps))


def subpixel_weights(weight: np.ndarray, bias: np.ndarray | None, plan_h: AxisPlan, plan_w: AxisPlan):
    """ConvTranspose weight (C_in, C_out, kh, kw) -> Conv weight (C_out*s*s, C_in, KH, KW) in CRD order."""
    assert plan_h.stride == plan_w.stride
    s = plan_h.stride
    c_in, c_out = weight.shape[:2]
    conv = np.zeros((c_out, s, s, c_in, plan_h.kernel, plan_w.kernel), dtype=weight.dtype)
    for ry, jy, ty in plan_h.taps:
        for rx, jx, tx in plan_w.taps:
            conv[:, ry, rx, :, jy, jx] = weight[:, :, ty, tx].T  # (C_out, C_in)
    conv = conv.reshape(c_out * s * s, c_in, plan_h.kernel, plan_w.kernel)  # channel = c*s*s + ry*s + rx
    conv_bias = None if bias is None else np.repeat(bias, s * s)
    return conv, conv_bias


def subpixel_convtranspose(model, sink_activations: bool = True):
    """Rewrite every eligible ConvTranspose of ``model`` (in place). Returns the list of RewriteRecords.

    Eligible: 2-D, group 1, dilation 1, explicit pads (no auto_pad/output_shape), constant weights,
    equal block size on both axes and known input height/width.
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    shapes = _spatial_shapes(model)
    inits = {t.name: t for t in graph.initializer}
    records: list[RewriteRecord] = []
    new_nodes = []
    for node in graph.node:
        replacement = _rewrite_node(node, inits, shapes, helper, numpy_helper, graph)
        if replacement is None:
            new_nodes.append(node)
            continue
        nodes, record = replacement
        new_nodes.extend(nodes)
        records.append(record)
    if not records:
        return records
    del graph.node[:]
    graph.node.extend(new_nodes)
    if sink_activations:
        _sink_activations(graph)
    _drop_unused_initializers(graph)
    del graph.value_info[:]  # shapes of renamed tensors changed; re-inferred by whoever needs them
    toposort(graph)
    return records


def _rewrite_node(node, inits, shapes, helper, numpy_helper, graph):
    if node.op_type != "ConvTranspose" or node.domain not in ("", "ai.onnx") or len(node.input) < 2:
        return None
    weight_init = inits.get(node.input[1])
    bias_init = inits.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if weight_init is None or (len(node.input) > 2 and node.input[2] and bias_init is None):
        return None
    weight = numpy_helper.to_array(weight_init)
    if weight.ndim != 4 or weight.dtype.kind != "f" or node.input[0] not in shapes:
        return None
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if attrs.get("group", 1) != 1 or "output_shape" in attrs:
        return None
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        return None
    if any(d != 1 for d in attrs.get("dilations", [1, 1])):
        return None
    kh, kw = weight.shape[2:]
    if list(attrs.get("kernel_shape", [kh, kw])) != [kh, kw]:
        return None
    sh, sw = attrs.get("strides", [1, 1])
    pads = attrs.get("pads", [0, 0, 0, 0])
    oph, opw = attrs.get("output_padding", [0, 0])
    h, w = shapes[node.input[0]]
    plan_h = plan_axis(h, kh, sh, pads[0], pads[2], oph)
    plan_w = plan_axis(w, kw, sw, pads[1], pads[3], opw)
    if plan_h is None or plan_w is None or plan_h.stride != plan_w.stride:
        return None
    bias = numpy_helper.to_array(bias_init) if bias_init is not None else None
    conv_w, conv_b = subpixel_weights(weight, bias, plan_h, plan_w)
    base = node.name or node.output[0]
    w_name = _unique(f"{base}.subpixel_weight", graph)
    graph.initializer.append(numpy_helper.from_array(conv_w, w_name))
    conv_inputs = [node.input[0], w_name]
    if conv_b is not None:
        b_name = _unique(f"{base}.subpixel_bias", graph)
        graph.initializer.append(numpy_helper.from_array(conv_b, b_name))
        conv_inputs.append(b_name)
    block = plan_h.stride
    conv_out = node.output[0] if block == 1 else _unique(f"{base}.subpixel_phases", graph)
    conv = helper.make_node(
        "Conv", conv_inputs, [conv_out], name=f"{base}.subpixel_conv",
        kernel_shape=[plan_h.kernel, plan_w.kernel], strides=[1, 1],
        pads=[plan_h.pad_begin, plan_w.pad_begin, plan_h.pad_end, plan_w.pad_end],
    )
    nodes = [conv]
    if block > 1:  # (N, C*s*s, H', W') -> (N, C, H'*s, W'*s)
        nodes.append(helper.make_node("DepthToSpace", [conv_out], [node.output[0]], name=f"{base}.subpixel_d2s",
                                      blocksize=block, mode="CRD"))
    return nodes, RewriteRecord(node=base, input_hw=(h, w), block=block, conv_kernel=(plan_h.kernel, plan_w.kernel))


def _sink_activations(graph) -> None:
    """DepthToSpace -> act  becomes  act -> DepthToSpace, when the activation is its only consumer."""
    graph_outputs = {o.name for o in graph.output}
    for d2s in [n for n in graph.node if n.op_type == "DepthToSpace"]:
        consumers = [n for n in graph.node if d2s.output[0] in n.input]
        if len(consumers) != 1 or d2s.output[0] in graph_outputs:
            continue
        act = consumers[0]
        if act.op_type not in _ELEMENTWISE_UNARY or len(act.input) != 1 or len(act.output) != 1:
            continue
        phases, act_out = d2s.input[0], act.output[0]
        # Before: phases -> d2s -> mid -> act -> act_out. After: phases -> act -> mid -> d2s -> act_out.
        mid = d2s.output[0]
        act.input[0], act.output[0] = phases, mid
        d2s.input[0], d2s.output[0] = mid, act_out


def _drop_unused_initializers(graph) -> None:
    used = {name for n in graph.node for name in n.input} | {o.name for o in graph.output}
    keep = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)


def toposort(graph) -> None:
    """Reorder nodes so every input is produced before use (ONNX requires it)."""
    available = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        ready = [n for n in pending if all(i in available for i in n.input)]
        if not ready:
            raise AssertionError("graph has a cycle or an undefined input after the rewrite")
        for n in ready:
            ordered.append(n)
            available.update(n.output)
        pending = [n for n in pending if all(n is not r for r in ready)]
    copies = [type(n)() for n in ordered]
    for dst, src in zip(copies, ordered):
        dst.CopyFrom(src)
    del graph.node[:]
    graph.node.extend(copies)


def _unique(name: str, graph) -> str:
    taken = {t.name for t in graph.initializer} | {o for n in graph.node for o in n.output}
    candidate, i = name, 1
    while candidate in taken:
        candidate, i = f"{name}.{i}", i + 1
    return candidate


def _spatial_shapes(model) -> dict[str, tuple[int, int]]:
    """(H, W) of every 4-D tensor whose spatial size shape inference can pin down."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {}
    for info in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        dims = info.type.tensor_type.shape.dim
        if len(dims) == 4 and all(d.HasField("dim_value") for d in dims[2:]):
            shapes[info.name] = (dims[2].dim_value, dims[3].dim_value)
    return shapes
