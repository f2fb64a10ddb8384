"""An ONNX model's structure, read without the onnx package: what ``inspect`` and the FLOP count need.

:func:`read_onnx_graph` walks the protobuf wire format (``protowire``, the reader the safety scan
uses) and returns an :class:`OnnxGraph`: ir version, opsets, producer, metadata, the main graph's
inputs/outputs/value_info with element types and shapes, its nodes (op type, domain, inputs,
outputs, attributes) and its initializers (name, dims, data type). Tensor payloads are skipped
by their length, except those of small tensors (at most :data:`SMALL_TENSOR` elements: shapes,
axes, scales), whose values are decoded so shapes can be propagated. Weights are never read.

Call :func:`ganedge.artifacts.onnx_safety.check_onnx_file` first on files from elsewhere; this
reader assumes the file is an ONNX model and raises ArtifactError where its bytes say otherwise.
Subgraphs (If/Loop/Scan bodies) are not descended into: node counts and FLOPs are the main graph's.
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganedge.artifacts import protowire as pw
from ganedge.errors import ArtifactError

SMALL_TENSOR = 64  # decode the values of tensors up to this many elements

# TensorProto.DataType -> (name, bits per element); names as numpy / ml_dtypes spell them.
DTYPES: dict[int, tuple[str, int]] = {
    1: ("float32", 32), 2: ("uint8", 8), 3: ("int8", 8), 4: ("uint16", 16), 5: ("int16", 16), 6: ("int32", 32),
    7: ("int64", 64), 8: ("string", 0), 9: ("bool", 8), 10: ("float16", 16), 11: ("float64", 64),
    12: ("uint32", 32), 13: ("uint64", 64), 14: ("complex64", 64), 15: ("complex128", 128), 16: ("bfloat16", 16),
    17: ("float8_e4m3fn", 8), 18: ("float8_e4m3fnuz", 8), 19: ("float8_e5m2", 8), 20: ("float8_e5m2fnuz", 8),
    21: ("uint4", 4), 22: ("int4", 4), 23: ("float4_e2m1fn", 4), 24: ("float8_e8m0fnu", 8), 25: ("uint2", 2),
    26: ("int2", 2), 27: ("float6_e2m3fn", 6), 28: ("float6_e3m2fn", 6),
}
FLOAT, INT64 = 1, 7

Dim = int | str | None  # a size, a symbol ("batch"), or unknown


def dtype_name(data_type: int) -> str:
    return DTYPES.get(data_type, ("?", 0))[0]


@dataclass(frozen=True)
class ValueInfo:
    name: str
    elem_type: int  # 0 when not a tensor or not declared
    shape: tuple[Dim, ...] | None  # None: rank unknown

    @property
    def dtype(self) -> str:
        return dtype_name(self.elem_type)


@dataclass(frozen=True)
class Tensor:
    name: str
    data_type: int
    dims: tuple[int, ...]
    values: tuple | None = None  # decoded when small and stored in the file; else None
    external: bool = False

    @property
    def elements(self) -> int:
        count = 1
        for d in self.dims:
            count *= d
        return count

    @property
    def nbytes(self) -> int:
        return (self.elements * DTYPES.get(self.data_type, ("?", 0))[1] + 7) // 8


@dataclass(frozen=True)
class Node:
    op_type: str
    domain: str
    name: str
    inputs: tuple[str, ...]  # "" marks an omitted optional input
    outputs: tuple[str, ...]
    attributes: dict[str, Any]  # int, float, str, lists of them, Tensor, or Subgraph

    def attr(self, name: str, default: Any = None) -> Any:
        return self.attributes.get(name, default)

    @property
    def qualified_op(self) -> str:
        return self.op_type if self.domain in ("", "ai.onnx") else f"{self.domain}::{self.op_type}"


@dataclass(frozen=True)
class Subgraph:
    """A graph-valued attribute (If/Loop/Scan body), not parsed."""

    size_bytes: int


@dataclass
class OnnxGraph:
    ir_version: int = 0
    opsets: dict[str, int] = field(default_factory=dict)  # domain ("" = ai.onnx) -> version
    producer_name: str = ""
    producer_version: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    inputs: list[ValueInfo] = field(default_factory=list)  # initializers listed as inputs (old IRs) included
    outputs: list[ValueInfo] = field(default_factory=list)
    value_info: list[ValueInfo] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    initializers: dict[str, Tensor] = field(default_factory=dict)

    @property
    def feeds(self) -> list[ValueInfo]:
        """The inputs a caller feeds: graph inputs that are not initializers."""
        return [v for v in self.inputs if v.name not in self.initializers]

    def opset(self, domain: str = "") -> int:
        return self.opsets.get(domain, self.opsets.get("ai.onnx", 0))


def read_onnx_graph(source: str | os.PathLike | bytes) -> OnnxGraph:
    """The structure of the ONNX model in ``source`` (a path, or the serialized bytes)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _parse(source, len(source), "the model")
    path = Path(source)
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            raise ArtifactError(f"{path} is empty (0 bytes)")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            return _parse(buf, size, str(path))


def _parse(buf, size: int, where: str) -> OnnxGraph:
    try:
        return _model(buf, size)
    except (pw.WireError, struct.error, UnicodeDecodeError, OverflowError) as exc:
        raise ArtifactError(f"{where} is not a readable ONNX model ({exc})") from None


# Field numbers from onnx.proto3.
_M_IR, _M_PRODUCER, _M_PRODUCER_VERSION, _M_GRAPH, _M_OPSET, _M_METADATA = 1, 2, 3, 7, 8, 14
_G_NODE, _G_INITIALIZER, _G_INPUT, _G_OUTPUT, _G_VALUE_INFO = 1, 5, 11, 12, 13
_N_INPUT, _N_OUTPUT, _N_NAME, _N_OP, _N_ATTRIBUTE, _N_DOMAIN = 1, 2, 3, 4, 5, 7
_A_NAME, _A_F, _A_I, _A_S, _A_T, _A_G, _A_FLOATS, _A_INTS, _A_STRINGS, _A_TYPE = 1, 2, 3, 4, 5, 6, 7, 8, 9, 20
_T_DIMS, _T_TYPE, _T_FLOATS, _T_INT32S, _T_INT64S, _T_NAME, _T_RAW = 1, 2, 4, 5, 7, 8, 9
_T_DOUBLES, _T_UINT64S, _T_EXTERNAL, _T_LOCATION = 10, 11, 13, 14


def _model(buf, size: int) -> OnnxGraph:
    model = OnnxGraph()
    graph_span = None
    for number, wire, value in pw.fields(buf, 0, size):
        if number == _M_IR and wire == pw.VARINT:
            model.ir_version = value
        elif number == _M_PRODUCER and wire == pw.LEN:
            model.producer_name = pw.text(buf, value)
        elif number == _M_PRODUCER_VERSION and wire == pw.LEN:
            model.producer_version = pw.text(buf, value)
        elif number == _M_GRAPH and wire == pw.LEN:
            graph_span = value
        elif number == _M_OPSET and wire == pw.LEN:
            entry = {n: v for n, _, v in pw.fields(buf, *value)}
            domain = pw.text(buf, entry[1]) if isinstance(entry.get(1), tuple) else ""
            model.opsets[domain] = entry.get(2, 0) if isinstance(entry.get(2), int) else 0
        elif number == _M_METADATA and wire == pw.LEN:
            entry = {n: pw.text(buf, v) for n, w, v in pw.fields(buf, *value) if w == pw.LEN}
            model.metadata[entry.get(1, "")] = entry.get(2, "")
    if graph_span is None:
        raise pw.WireError("no graph")
    _graph(buf, graph_span, model)
    return model


def _graph(buf, span, model: OnnxGraph) -> None:
    for number, wire, value in pw.fields(buf, *span):
        if wire != pw.LEN:
            continue
        if number == _G_NODE:
            model.nodes.append(_node(buf, value))
        elif number == _G_INITIALIZER:
            tensor = _tensor(buf, value)
            model.initializers[tensor.name] = tensor
        elif number == _G_INPUT:
            model.inputs.append(_value_info(buf, value))
        elif number == _G_OUTPUT:
            model.outputs.append(_value_info(buf, value))
        elif number == _G_VALUE_INFO:
            model.value_info.append(_value_info(buf, value))


def _value_info(buf, span) -> ValueInfo:
    name, elem_type, shape = "", 0, None
    for number, wire, value in pw.fields(buf, *span):
        if number == 1 and wire == pw.LEN:
            name = pw.text(buf, value)
        elif number == 2 and wire == pw.LEN:  # TypeProto; tensor_type is field 1
            for n, w, tensor_type in pw.fields(buf, *value):
                if n == 1 and w == pw.LEN:
                    elem_type, shape = _tensor_type(buf, tensor_type)
    return ValueInfo(name, elem_type, shape)


def _tensor_type(buf, span) -> tuple[int, tuple[Dim, ...] | None]:
    elem_type, shape = 0, None
    for number, wire, value in pw.fields(buf, *span):
        if number == 1 and wire == pw.VARINT:
            elem_type = value
        elif number == 2 and wire == pw.LEN:  # TensorShapeProto: repeated Dimension dim = 1
            dims: list[Dim] = []
            for _, w, dim in pw.fields(buf, *value):
                if w == pw.LEN:
                    dims.append(_dimension(buf, dim))
            shape = tuple(dims)
    return elem_type, shape


def _dimension(buf, span) -> Dim:
    for number, wire, value in pw.fields(buf, *span):
        if number == 1 and wire == pw.VARINT:
            return pw.signed64(value)
        if number == 2 and wire == pw.LEN:
            return pw.text(buf, value)
    return None


def _node(buf, span) -> Node:
    inputs, outputs, attributes = [], [], {}
    name = op_type = domain = ""
    for number, wire, value in pw.fields(buf, *span):
        if wire != pw.LEN:
            continue
        if number == _N_INPUT:
            inputs.append(pw.text(buf, value))
        elif number == _N_OUTPUT:
            outputs.append(pw.text(buf, value))
        elif number == _N_NAME:
            name = pw.text(buf, value)
        elif number == _N_OP:
            op_type = pw.text(buf, value)
        elif number == _N_DOMAIN:
            domain = pw.text(buf, value)
        elif number == _N_ATTRIBUTE:
            key, attribute = _attribute(buf, value)
            attributes[key] = attribute
    return Node(op_type, domain, name, tuple(inputs), tuple(outputs), attributes)


# AttributeProto.AttributeType -> which field holds the value
_ATTR_FIELD = {1: _A_F, 2: _A_I, 3: _A_S, 4: _A_T, 5: _A_G, 6: _A_FLOATS, 7: _A_INTS, 8: _A_STRINGS}
_REPEATED = (_A_FLOATS, _A_INTS, _A_STRINGS)


def _attribute(buf, span) -> tuple[str, Any]:
    name, declared = "", 0
    found: dict[int, Any] = {}
    for number, wire, value in pw.fields(buf, *span):
        if number == _A_NAME and wire == pw.LEN:
            name = pw.text(buf, value)
        elif number == _A_TYPE and wire == pw.VARINT:
            declared = value
        elif number == _A_F and wire == pw.FIXED32:
            found[_A_F] = pw.float32(value)
        elif number == _A_I and wire == pw.VARINT:
            found[_A_I] = pw.signed64(value)
        elif number == _A_S and wire == pw.LEN:
            found[_A_S] = pw.text(buf, value)
        elif number == _A_T and wire == pw.LEN:
            found[_A_T] = _tensor(buf, value)
        elif number == _A_G and wire == pw.LEN:
            found[_A_G] = Subgraph(value[1] - value[0])
        elif number == _A_FLOATS:
            found.setdefault(_A_FLOATS, []).extend(pw.repeated_floats(buf, wire, value))
        elif number == _A_INTS:
            found.setdefault(_A_INTS, []).extend(pw.repeated_ints(buf, wire, value))
        elif number == _A_STRINGS and wire == pw.LEN:
            found.setdefault(_A_STRINGS, []).append(pw.text(buf, value))
    wanted = _ATTR_FIELD.get(declared)
    if wanted is not None:
        return name, found.get(wanted, [] if wanted in _REPEATED else None)
    # No (or an unknown) declared type, as old writers left it: whichever field is present.
    return name, next(iter(found.values()), None)


def _tensor(buf, span) -> Tensor:
    name, data_type, dims, external = "", 0, [], False
    payload: dict[int, list] = {}
    for number, wire, value in pw.fields(buf, *span):
        if number == _T_DIMS:
            dims.extend(pw.repeated_ints(buf, wire, value))
        elif number == _T_TYPE and wire == pw.VARINT:
            data_type = value
        elif number == _T_NAME and wire == pw.LEN:
            name = pw.text(buf, value)
        elif number == _T_LOCATION and wire == pw.VARINT:
            external = external or value == 1
        elif number == _T_EXTERNAL:
            external = True
        elif number in (_T_RAW, _T_FLOATS, _T_INT32S, _T_INT64S, _T_DOUBLES, _T_UINT64S):
            payload.setdefault(number, []).append((wire, value))
    tensor = Tensor(name, data_type, tuple(dims), external=external)
    if not external and tensor.elements <= SMALL_TENSOR:
        tensor = Tensor(name, data_type, tuple(dims), _decode(buf, data_type, payload, tensor.elements))
    return tensor


_RAW_FORMATS = {1: "f", 2: "B", 3: "b", 4: "H", 5: "h", 6: "i", 7: "q", 9: "?", 10: "e", 11: "d", 12: "I", 13: "Q"}
FLOAT16 = 10


def _decode(buf, data_type: int, payload: dict[int, list], count: int) -> tuple | None:
    """The values of a small tensor from raw_data or its typed field; None for types shapes never use."""
    fmt = _RAW_FORMATS.get(data_type)
    if fmt is None:
        return None
    if _T_RAW in payload:
        start, end = payload[_T_RAW][-1][1]
        if end - start != count * struct.calcsize(fmt):
            return None
        return struct.unpack(f"<{count}{fmt}", bytes(buf[start:end]))
    values: list = []
    if data_type == FLOAT:
        for wire, value in payload.get(_T_FLOATS, []):
            values += pw.repeated_floats(buf, wire, value)
    elif data_type == 11:
        for wire, value in payload.get(_T_DOUBLES, []):
            values += _doubles(buf, wire, value)
    else:
        number = {7: _T_INT64S, 12: _T_UINT64S, 13: _T_UINT64S}.get(data_type, _T_INT32S)
        for wire, value in payload.get(number, []):
            values += pw.repeated_ints(buf, wire, value)
        if data_type == 9:
            values = [bool(v) for v in values]
        elif data_type == FLOAT16:  # int32_data holds the half floats' bits
            values = list(struct.unpack(f"<{len(values)}e", struct.pack(f"<{len(values)}H", *values)))
    return tuple(values) if len(values) == count else None


def _doubles(buf, wire: int, value) -> list[float]:
    if wire == pw.FIXED64:
        return [struct.unpack("<d", value.to_bytes(8, "little"))[0]]
    start, end = value
    return list(struct.unpack(f"<{(end - start) // 8}d", bytes(buf[start:end - (end - start) % 8])))
