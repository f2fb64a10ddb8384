"""Check an ONNX file before anything loads it: present, not empty, not truncated, really
ONNX, and no external data that points outside the model's folder.

External-data paths that escape their folder (``../../etc/passwd``, ``/abs/path``, a symlink
out) are a known vulnerability class of ONNX loaders (onnx's CVE-2022-25882, CVE-2024-27318):
loading such a model reads arbitrary files. We refuse them before any loader resolves a path.

The scan reads the protobuf wire format itself (``protowire``), so it needs neither the ``onnx``
package nor protobuf: the SDK can call :func:`check_onnx_file` on machines that only have onnxruntime.
It visits every TensorProto a model can hold — graph initializers, sparse initializers,
tensor attributes of nodes, nested subgraphs (If/Loop/Scan bodies), functions and training
graphs — and skips tensor payloads by their length, so its cost is proportional to the
number of tensors and nodes, not to the file size.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass, field
from pathlib import Path

from ganedge.artifacts.protowire import LEN, VARINT, WireError, fields, submessages, text
from ganedge.errors import ArtifactError, UnsafeArtifactError

# Field numbers from onnx.proto3 (stable since IR version 3).
_MODEL_IR_VERSION, _MODEL_GRAPH, _MODEL_OPSET, _MODEL_TRAINING, _MODEL_FUNCTIONS = 1, 7, 8, 20, 25
_MODEL_METADATA = 14  # metadata_props: StringStringEntryProto (key 1, value 2)
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_SPARSE_INITIALIZER = 1, 5, 15
_NODE_ATTRIBUTE = 5
_ATTR_T, _ATTR_G, _ATTR_TENSORS, _ATTR_GRAPHS, _ATTR_SPARSE, _ATTR_SPARSES = 5, 6, 10, 11, 22, 23
_SPARSE_VALUES, _SPARSE_INDICES = 1, 2
_TENSOR_NAME, _TENSOR_EXTERNAL, _TENSOR_LOCATION = 8, 13, 14
_ENTRY_KEY, _ENTRY_VALUE = 1, 2
_FUNCTION_NODE, _FUNCTION_ATTRIBUTE_PROTO = 7, 11
_TRAINING_INIT, _TRAINING_ALGORITHM = 1, 2
_OPSET_DOMAIN, _OPSET_VERSION = 1, 2

_MAX_DEPTH = 64  # nested subgraphs; real models stay in single digits


@dataclass
class ExternalTensor:
    tensor: str
    location: str


@dataclass
class OnnxFileSummary:
    """What the scan learned; enough for the SDK to decide how to load the file."""

    path: Path
    size_bytes: int
    ir_version: int
    opsets: dict[str, int] = field(default_factory=dict)  # domain ("" = ai.onnx) -> version
    external_data: list[ExternalTensor] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)  # metadata_props, e.g. "ganedge" -> the manifest JSON

    @property
    def self_contained(self) -> bool:
        return not self.external_data


def check_onnx_file(path: str | os.PathLike) -> OnnxFileSummary:
    """Validate ``path`` as a safe ONNX model file; raise ArtifactError/UnsafeArtifactError if not.

    Checks: the file exists and is a regular, non-empty file; its bytes parse as an ONNX
    ModelProto with a graph (so a truncated or foreign file is caught); every external-data
    location is a relative path that stays inside the model's folder after resolving symlinks,
    and names an existing file.
    """
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path} does not exist; check the path (expected an .onnx file)")
    if not path.is_file():
        raise ArtifactError(f"{path} is not a file; expected an .onnx model file")
    size = path.stat().st_size
    if size == 0:
        raise ArtifactError(f"{path} is empty (0 bytes); re-export it with `ganedge export onnx`")
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        try:
            summary = _scan_model(buf, path, size)
        except WireError as exc:
            foreign = _sniff_foreign_format(buf[:8])
            if foreign:
                raise ArtifactError(f"{path} is {foreign}, not an ONNX model; ganedge never loads pickles: "
                                    "export the run with `ganedge export onnx`") from None
            if exc.past_end:
                raise ArtifactError(
                    f"{path} is truncated or not an ONNX model ({exc}); re-export or re-download it"
                ) from None
            raise ArtifactError(f"{path} is not an ONNX model ({exc})") from None
    _check_external_locations(path, summary.external_data)
    return summary


def _sniff_foreign_format(head: bytes) -> str | None:
    """Name the file types users most often hand us by mistake, from their first bytes."""
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "a Python pickle (e.g. a torch .pt/.pth/.pkl checkpoint)"
    if head[:4] == b"PK\x03\x04":
        return "a zip archive (e.g. a torch.save checkpoint, which holds pickles)"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "a PNG image"
    return None


def _check_external_locations(path: Path, tensors: list[ExternalTensor]) -> None:
    folder = path.resolve().parent
    for tensor in tensors:
        location = tensor.location
        name = f"tensor {tensor.tensor!r}" if tensor.tensor else "a tensor"
        pure = Path(location)
        if (not location or "\x00" in location or pure.is_absolute() or location.startswith(("/", "\\"))
                or (len(location) > 1 and location[1] == ":") or ".." in location.replace("\\", "/").split("/")):
            raise UnsafeArtifactError(
                f"{path}: {name} keeps its data at {location!r}, outside the model's folder; refusing to load it "
                "(external data must be a relative path inside the folder)"
            )
        target = (folder / location).resolve()
        if not target.is_relative_to(folder):
            raise UnsafeArtifactError(
                f"{path}: {name}'s external data {location!r} resolves to {target}, outside the model's folder "
                "(a symlink?); refusing to load it"
            )
        if not target.is_file():
            raise ArtifactError(f"{path}: {name}'s external data file {location!r} is missing next to the model")


def _scan_model(buf, path: Path, size: int) -> OnnxFileSummary:
    ir_version, graph, opsets, metadata = None, None, {}, {}
    external: list[ExternalTensor] = []
    nested: list[tuple[str, tuple[int, int]]] = []
    for number, wire, value in fields(buf, 0, size):
        if number == _MODEL_IR_VERSION and wire == VARINT:
            ir_version = value
        elif number == _MODEL_GRAPH and wire == LEN:
            graph = value
        elif number == _MODEL_OPSET and wire == LEN:
            domain, version = "", 0
            for n, w, v in fields(buf, *value):
                if n == _OPSET_DOMAIN and w == LEN:
                    domain = text(buf, v)
                elif n == _OPSET_VERSION and w == VARINT:
                    version = v
            opsets[domain] = version
        elif number == _MODEL_TRAINING and wire == LEN:
            nested += [("graph", v) for _, v in submessages(buf, value, {_TRAINING_INIT: "initialization",
                                                                          _TRAINING_ALGORITHM: "algorithm"})]
        elif number == _MODEL_FUNCTIONS and wire == LEN:
            nested.append(("function", value))
        elif number == _MODEL_METADATA and wire == LEN:
            entry = {n: text(buf, v) for n, w, v in fields(buf, *value) if w == LEN}
            metadata[entry.get(_ENTRY_KEY, "")] = entry.get(_ENTRY_VALUE, "")
    if ir_version is None or graph is None or not opsets:
        raise WireError("no ir_version, graph and opset_import at the top level")
    _scan_graph(buf, graph, external, depth=0)
    for kind, span in nested:
        if kind == "graph":
            _scan_graph(buf, span, external, depth=1)
        else:
            for number, node_or_attr in submessages(buf, span, {_FUNCTION_NODE: "node",
                                                                 _FUNCTION_ATTRIBUTE_PROTO: "attribute_proto"}):
                if number == _FUNCTION_NODE:
                    _scan_node(buf, node_or_attr, external, depth=1)
                else:
                    _scan_attribute(buf, node_or_attr, external, depth=1)
    return OnnxFileSummary(path=path, size_bytes=size, ir_version=ir_version, opsets=opsets, external_data=external,
                           metadata=metadata)


def _scan_graph(buf, span, external: list[ExternalTensor], depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise WireError(f"subgraphs nested deeper than {_MAX_DEPTH}")
    wanted = {_GRAPH_NODE: "node", _GRAPH_INITIALIZER: "initializer", _GRAPH_SPARSE_INITIALIZER: "sparse_initializer"}
    for number, sub in submessages(buf, span, wanted):
        if number == _GRAPH_NODE:
            _scan_node(buf, sub, external, depth)
        elif number == _GRAPH_INITIALIZER:
            _scan_tensor(buf, sub, external)
        else:
            _scan_sparse(buf, sub, external)


def _scan_node(buf, span, external: list[ExternalTensor], depth: int) -> None:
    for _, attribute in submessages(buf, span, {_NODE_ATTRIBUTE: "attribute"}):
        _scan_attribute(buf, attribute, external, depth)


def _scan_attribute(buf, span, external: list[ExternalTensor], depth: int) -> None:
    wanted = {_ATTR_T: "t", _ATTR_TENSORS: "tensors", _ATTR_G: "g", _ATTR_GRAPHS: "graphs",
              _ATTR_SPARSE: "sparse_tensor", _ATTR_SPARSES: "sparse_tensors"}
    for number, sub in submessages(buf, span, wanted):
        if number in (_ATTR_T, _ATTR_TENSORS):
            _scan_tensor(buf, sub, external)
        elif number in (_ATTR_G, _ATTR_GRAPHS):
            _scan_graph(buf, sub, external, depth + 1)
        else:
            _scan_sparse(buf, sub, external)


def _scan_sparse(buf, span, external: list[ExternalTensor]) -> None:
    for _, tensor in submessages(buf, span, {_SPARSE_VALUES: "values", _SPARSE_INDICES: "indices"}):
        _scan_tensor(buf, tensor, external)


def _scan_tensor(buf, span, external: list[ExternalTensor]) -> None:
    name, location, is_external = "", None, False
    for number, wire, value in fields(buf, *span):
        if number == _TENSOR_NAME and wire == LEN:
            name = text(buf, value)
        elif number == _TENSOR_LOCATION and wire == VARINT:
            is_external = value == 1  # TensorProto.DataLocation.EXTERNAL
        elif number == _TENSOR_EXTERNAL and wire == LEN:
            key, location_text = "", ""
            for n, w, v in fields(buf, *value):
                if n == _ENTRY_KEY and w == LEN:
                    key = text(buf, v)
                elif n == _ENTRY_VALUE and w == LEN:
                    location_text = text(buf, v)
            if key == "location":
                location = location_text
    if is_external or location is not None:
        # An EXTERNAL tensor without a location is as unloadable as one pointing outside.
        external.append(ExternalTensor(tensor=name, location=location or ""))
