"""Will TensorRT's ONNX parser take this graph? A lint, run at export and by ``ganedge inspect``.

The operator table and restrictions follow onnx-tensorrt's docs/operators.md for TensorRT 10
(opsets 9-20 in 10.0, up to 24 in later 10.x). The lint is static: it reads the graph and
shape-inferred types and never needs TensorRT, so it runs on any machine, before a GPU build
fails half an hour in. It checks:

- every op is one the parser implements, in a type it supports, in the default domain;
- the documented attribute restrictions (Resize modes, pooling dilations, TopK, Q/DQ zero points);
- shapes are static except the batch dimension (ganedge builds profiles over batch only);
- dtype pitfalls at the network edge: int64 (TensorRT 8 casts to int32), double, bool;
- external data (the builder must be handed the file path with the data beside it);
- quantized graphs: TensorRT takes int8 Q/DQ with zero point 0 only, so onnxruntime's CPU
  recipe (uint8 activations with zero points) is reported as not TensorRT-ready.

Errors mean the parser (or our engine builder) will refuse the graph; warnings mean it will
build but may surprise; infos are worth knowing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

_F = ("FP32", "FP16", "BF16")
_I = ("INT32", "INT64")
_B = ("BOOL",)
_FIB, _FI, _F16 = _F + _I + _B, _F + _I, ("FP32", "FP16")

# op -> data types TensorRT 10 supports for it (its first data input; output for source ops).
SUPPORTED_OPS: dict[str, tuple[str, ...]] = {
    **{op: _F for op in (
        "Acos Acosh Asin Asinh Atan Atanh AveragePool BatchNormalization Ceil Celu Clip Conv ConvTranspose Cos Cosh "
        "CumSum Dropout Einsum Elu Erf Exp Floor Gemm GlobalAveragePool GlobalLpPool GlobalMaxPool GroupNormalization "
        "GRU HardSigmoid HardSwish Hardmax ImageScaler InstanceNormalization IsInf LayerNormalization LeakyRelu Log "
        "LogSoftmax LRN LSTM LpNormalization LpPool MatMul MaxPool MeanVarianceNormalization ParametricSoftplus PRelu "
        "QuantizeLinear RandomNormal RandomNormalLike RandomUniform RandomUniformLike Reciprocal Resize "
        "RMSNormalization RNN RotaryEmbedding Round ScaledTanh Scan Selu Sigmoid Sin Sinh Softmax Softplus Softsign "
        "Sqrt Tan Tanh ThresholdedRelu Upsample").split()},
    **{op: _FI for op in (
        "Abs Add ArgMax ArgMin DepthToSpace Div Equal Greater GreaterOrEqual IsNaN Less LessOrEqual Max Min Mod Mul "
        "Neg Pad Pow Range ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd "
        "ReduceSum ReduceSumSquare Relu Scatter ScatterElements ScatterND Shrink Sign SpaceToDepth Sub Sum TopK"
    ).split()},
    **{op: _FIB for op in (
        "Concat Expand EyeLike Flatten Gather GatherElements GatherND Identity If Loop OneHot Reshape ReverseSequence "
        "Shape Size Slice Split Squeeze Tile Transpose Trilu Unsqueeze Where").split()},
    **{op: _F16 for op in "BlackmanWindow DeformConv GridSample HammingWindow HannWindow Mish NonMaxSuppression NonZero "
                          "RoiAlign".split()},
    **{op: _B for op in "And Not Or Xor".split()},
    "Attention": _F + ("INT8", "FP8"),
    "Cast": _FI + ("UINT8", "BOOL"),
    "CastLike": _FI + ("UINT8", "BOOL"),
    "Constant": _F + ("FP8", "FP4", "INT4") + _I + _B,
    "ConstantOfShape": _F + ("FP8", "FP4", "INT4") + _I + _B,
    "DequantizeLinear": ("INT8", "FP8", "FP4", "INT4"),
    "Gelu": _F + ("INT8",) + _I,
    "Mean": _F + ("FP8",) + _I,
    "STFT": ("FP32",),
    "TensorScatter": _F + ("INT32",),
}
_DATA_INPUT = {"Where": 1}  # ops whose first input is not the data whose type matters

_TYPE_NAMES = {1: "FP32", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64", 8: "STRING",
               9: "BOOL", 10: "FP16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 16: "BF16", 17: "FP8", 18: "FP8",
               19: "FP8", 20: "FP8", 21: "UINT4", 22: "INT4", 23: "FP4"}
_RESIZE_COORDS = {"half_pixel", "pytorch_half_pixel", "tf_half_pixel_for_nn", "asymmetric", "align_corners"}
TENSORRT_OPSETS = (9, 20, 24)  # min; max for TensorRT 10.0; max for the newest 10.x


@dataclass(frozen=True)
class LintIssue:
    severity: str  # "error" | "warning" | "info"
    code: str
    message: str
    node: str | None = None


@dataclass
class LintReport:
    target: str = "TensorRT 10 ONNX parser"
    issues: list[LintIssue] = field(default_factory=list)

    def add(self, severity: str, code: str, message: str, node: str | None = None) -> None:
        issue = LintIssue(severity, code, message, node)
        if issue not in self.issues:
            self.issues.append(issue)

    def count(self, severity: str) -> int:
        return sum(1 for i in self.issues if i.severity == severity)

    @property
    def ok(self) -> bool:
        return self.count("error") == 0

    def summary(self) -> str:
        errors, warnings, infos = self.count("error"), self.count("warning"), self.count("info")
        head = "compatible" if self.ok else "NOT compatible"
        parts = [f"{n} {label}{'s' if n != 1 else ''}" for n, label in
                 ((errors, "error"), (warnings, "warning"), (infos, "note")) if n]
        return f"{self.target}: {head}" + (f" ({', '.join(parts)})" if parts else "")

    def lines(self) -> list[str]:
        # One row per distinct finding; a finding on many nodes names the first and counts the rest.
        groups: dict[tuple[str, str, str], list[str | None]] = {}
        for issue in sorted(self.issues, key=lambda i: ("error", "warning", "info").index(i.severity)):
            groups.setdefault((issue.severity, issue.code, issue.message), []).append(issue.node)
        rows = [self.summary()]
        for (severity, code, message), nodes in groups.items():
            where = f" [{nodes[0]}{f' and {len(nodes) - 1} more' if len(nodes) > 1 else ''}]" if nodes[0] else ""
            rows.append(f"  {severity:7s} {code}{where}: {message}")
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "ok": self.ok, "errors": self.count("error"),
                "warnings": self.count("warning"), "issues": [asdict(i) for i in self.issues]}


def lint_tensorrt(model) -> LintReport:
    """Lint ``model`` (an onnx.ModelProto) for TensorRT's ONNX parser."""
    import onnx

    report = LintReport()
    _lint_opset(model, report)
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # a graph shape inference cannot handle still gets the op/attribute checks
        inferred = model
    types = _tensor_types(inferred)
    consts = {t.name: t for t in model.graph.initializer}
    consts.update({n.output[0]: n for n in model.graph.node if n.op_type == "Constant" and n.output})
    _lint_io(model, report)
    _lint_external(model, report)
    for node in model.graph.node:
        _lint_node(node, types, consts, report)
    return report


def _lint_opset(model, report: LintReport) -> None:
    version = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    lo, hi_10_0, hi_latest = TENSORRT_OPSETS
    if version is None:
        report.add("error", "opset", "the model imports no ai.onnx opset")
    elif version < lo:
        report.add("error", "opset", f"opset {version} is older than TensorRT 10 parses (>= {lo}); re-export")
    elif version > hi_latest:
        report.add("error", "opset", f"opset {version} is newer than any TensorRT 10 parser (<= {hi_latest})")
    elif version > hi_10_0:
        report.add("warning", "opset", f"opset {version} needs a recent TensorRT 10.x; 10.0 parses up to {hi_10_0} "
                                       f"(export with --opset {hi_10_0} for older installs)")


def _dims(value) -> list[Any]:
    return [d.dim_param if d.HasField("dim_param") else d.dim_value if d.HasField("dim_value") else None
            for d in value.type.tensor_type.shape.dim]


def _lint_io(model, report: LintReport) -> None:
    inits = {t.name for t in model.graph.initializer}
    for kind, values in (("input", model.graph.input), ("output", model.graph.output)):
        for value in values:
            if value.name in inits:
                continue
            dtype = _TYPE_NAMES.get(value.type.tensor_type.elem_type, "?")
            dims = _dims(value)
            if not dims and kind == "input":
                report.add("warning", "shape", f"{kind} '{value.name}' has no shape; TensorRT needs its rank")
            for axis, dim in enumerate(dims):
                if axis == 0:
                    if isinstance(dim, int) and dim > 0:
                        report.add("info", "static-batch", f"{kind} '{value.name}' has a fixed batch of {dim}; "
                                                           "an engine built from it cannot change batch size")
                elif not isinstance(dim, int) or dim <= 0:
                    report.add("error", "dynamic-shape", f"{kind} '{value.name}' axis {axis} is dynamic ({dim!r}); "
                                                         "only the batch axis may be (profiles cover batch only)")
            if dtype == "INT64":
                report.add("warning", "dtype", f"{kind} '{value.name}' is int64: TensorRT 10 takes it, TensorRT 8 "
                                               "casts to int32 (fine for class ids < 2**31)")
            elif dtype == "DOUBLE":
                report.add("warning", "dtype", f"{kind} '{value.name}' is double: the parser casts it to float32; "
                                               "export float32")
            elif dtype == "BOOL":
                report.add("warning", "dtype", f"{kind} '{value.name}' is bool; feed it as int32/float to avoid "
                                               "binding surprises")
            elif dtype in ("STRING", "UINT16", "INT16", "UINT32", "UINT64", "?"):
                report.add("error", "dtype", f"{kind} '{value.name}' has type {dtype}, which TensorRT cannot bind")


def _lint_external(model, report: LintReport) -> None:
    from ganedge.export.check import external_tensors

    names = external_tensors(model)
    if names:
        report.add("warning", "external-data", f"{len(names)} tensor(s) keep their data in external files "
                                               f"(e.g. '{names[0]}'): parse from the file path with the data beside it")
    for init in model.graph.initializer:
        if init.data_type == 11:
            report.add("warning", "dtype", f"initializer '{init.name}' is double; TensorRT casts it to float32")


def _tensor_types(model) -> dict[str, str]:
    types = {}
    for value in list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output):
        types[value.name] = _TYPE_NAMES.get(value.type.tensor_type.elem_type, "?")
    for init in model.graph.initializer:
        types[init.name] = _TYPE_NAMES.get(init.data_type, "?")
    return types


def _attr(node, name, default=None):
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            value = helper.get_attribute_value(a)
            return value.decode() if isinstance(value, bytes) else value
    return default


def _lint_node(node, types: dict[str, str], consts: dict, report: LintReport) -> None:
    name, op = node.name or node.op_type, node.op_type
    if node.domain not in ("", "ai.onnx"):
        report.add("error", "custom-op", f"{node.domain}::{op} is not a standard ONNX op; TensorRT would need a "
                                         "plugin (export without onnxruntime-specific fusions)", name)
        return
    allowed = SUPPORTED_OPS.get(op)
    if allowed is None:
        report.add("error", "unsupported-op", f"{op} is not supported by TensorRT's ONNX parser", name)
        return
    index = _DATA_INPUT.get(op, 0)
    data = node.input[index] if len(node.input) > index else (node.output[0] if node.output else "")
    dtype = types.get(data)
    if dtype and dtype != "?" and dtype not in allowed:
        severity = "warning" if dtype == "DOUBLE" else "error"
        report.add(severity, "op-dtype", f"{op} on {dtype} data; TensorRT supports {', '.join(allowed)}", name)
    _lint_restrictions(node, name, op, consts, report)


def _zero_point_is_zero(node, consts: dict) -> bool | None:
    import numpy as np
    from onnx import numpy_helper

    if len(node.input) < 3 or not node.input[2]:
        return True
    source = consts.get(node.input[2])
    if source is None:
        return None
    tensor = source if hasattr(source, "data_type") else _attr(source, "value")
    return bool(np.all(numpy_helper.to_array(tensor) == 0)) if tensor is not None else None


def _lint_restrictions(node, name: str, op: str, consts: dict, report: LintReport) -> None:
    if op in ("QuantizeLinear", "DequantizeLinear"):
        zero = _zero_point_is_zero(node, consts)
        if zero is False:
            report.add("error", "qdq-zero-point", f"{op} with a non-zero zero point; TensorRT takes symmetric int8 "
                                                  "Q/DQ only (this is onnxruntime's CPU int8 recipe: use the fp32 or "
                                                  "fp16 file for TensorRT)", name)
    elif op == "Resize":
        coords = _attr(node, "coordinate_transformation_mode", "half_pixel")
        mode = _attr(node, "mode", "nearest")
        if coords not in _RESIZE_COORDS:
            report.add("error", "attribute", f"Resize coordinate_transformation_mode '{coords}' is unsupported", name)
        if mode not in ("nearest", "linear"):
            report.add("error", "attribute", f"Resize mode '{mode}' is unsupported (nearest, linear only)", name)
        if _attr(node, "antialias", 0):
            report.add("error", "attribute", "Resize antialias is unsupported", name)
        if _attr(node, "keep_aspect_ratio_policy", "stretch") != "stretch":
            report.add("error", "attribute", "Resize keep_aspect_ratio_policy must be 'stretch'", name)
    elif op in ("AveragePool", "MaxPool", "LpPool"):
        if any(d != 1 for d in _attr(node, "dilations", []) or []):
            report.add("error", "attribute", f"{op} dilations must be all ones", name)
        if op == "MaxPool" and len(node.output) > 1 and node.output[1]:
            report.add("error", "attribute", "MaxPool's Indices output is unsupported", name)
    elif op == "TopK" and _attr(node, "sorted", 1) != 1:
        report.add("error", "attribute", "TopK needs sorted=1", name)
    elif op == "ScatterND" and _attr(node, "reduction", "none") != "none":
        report.add("error", "attribute", "ScatterND reduction other than 'none' is unsupported", name)
    elif op == "Constant" and any(a.name in ("sparse_value", "value_string", "value_strings") for a in node.attribute):
        report.add("error", "attribute", "Constant with sparse or string values is unsupported", name)
    elif op == "LSTM" and (_attr(node, "input_forget", 0) or _attr(node, "layout", 0)):
        report.add("error", "attribute", "LSTM needs input_forget=0 and layout=0", name)
    elif op in ("Squeeze", "Unsqueeze", "CumSum", "OneHot") or op.startswith("Reduce"):
        index = {"OneHot": 1, "CumSum": 1}.get(op, 1)
        if len(node.input) > index and node.input[index] and node.input[index] not in consts:
            report.add("warning", "constant-input", f"{op}'s input '{node.input[index]}' must be a build-time "
                                                    "constant for TensorRT", name)
