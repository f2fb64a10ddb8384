"""Step 2 of the pipeline: is the exported graph a valid, self-contained ganedge generator?

``check_model`` runs onnx's full checker (with strict shape inference); ``check_io_contract``
holds the graph to the SDK's contract: inputs ``z`` float32 (batch, latent_dim) and, if
conditional, ``label`` int64 (batch,); output ``image`` float32 (batch, C, H, W); one symbolic
batch dimension shared by all of them and every other dimension static.
"""

from __future__ import annotations

from ganedge.errors import ArtifactError
from ganedge.artifacts.manifest import Manifest

from ganedge.artifacts.onnx_meta import INPUT_LABEL, INPUT_Z, OUTPUT

_FLOAT, _INT64 = 1, 7  # onnx.TensorProto.FLOAT / INT64
_TWO_GB = 2**31  # protobuf's hard limit for one serialized message


def check_model(model, where: str = "exported model") -> None:
    """onnx.checker with full_check (includes strict shape inference). Raises ArtifactError."""
    import onnx

    if model.ByteSize() >= _TWO_GB:
        raise ArtifactError(f"{where} is {model.ByteSize() / 2**30:.1f} GiB; a self-contained ONNX file must be < 2 GiB")
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise ArtifactError(f"{where} fails onnx.checker: {first}") from None


def _all_tensors(graph):
    """Every TensorProto in ``graph``: initializers and tensor attributes, subgraphs included."""
    yield from graph.initializer
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("g"):
                yield from _all_tensors(attr.g)
            for sub in attr.graphs:
                yield from _all_tensors(sub)


def external_tensors(model) -> list[str]:
    """Names of tensors whose data lives outside the file (must be empty for our exports)."""
    external = 1  # onnx.TensorProto.EXTERNAL
    return [t.name for t in _all_tensors(model.graph) if t.data_location == external or len(t.external_data)]


def _dims(value_info) -> list[int | str]:
    return [d.dim_param if d.HasField("dim_param") else d.dim_value if d.HasField("dim_value") else "?"
            for d in value_info.type.tensor_type.shape.dim]


def io_signature(model) -> dict[str, list[dict]]:
    """Inputs and outputs (graph inputs that are initializers excluded) with dtype names and shapes."""
    import onnx

    inits = {t.name for t in model.graph.initializer}

    def describe(values):
        return [{"name": v.name, "dtype": onnx.helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type).name
                 if v.type.tensor_type.elem_type else "?", "shape": _dims(v)} for v in values if v.name not in inits]

    return {"inputs": describe(model.graph.input), "outputs": describe(model.graph.output)}


def check_io_contract(model, manifest: Manifest, where: str = "exported model", fixed_batch: int | None = None) -> None:
    """Raise ArtifactError unless the graph's inputs/outputs are what ``manifest`` promises (a dynamic batch
    shared by all of them, or ``fixed_batch`` everywhere)."""
    inits = {t.name for t in model.graph.initializer}
    inputs = {v.name: v for v in model.graph.input if v.name not in inits}
    outputs = {v.name: v for v in model.graph.output}
    want_inputs = [INPUT_Z, INPUT_LABEL] if manifest.num_classes else [INPUT_Z]
    if sorted(inputs) != sorted(want_inputs) or list(outputs) != [OUTPUT]:
        raise ArtifactError(f"{where} has inputs {sorted(inputs)} and outputs {list(outputs)}; "
                            f"expected inputs {want_inputs} and output ['{OUTPUT}']")
    expected = {INPUT_Z: (_FLOAT, [manifest.latent_dim]), OUTPUT: (_FLOAT, list(manifest.image_shape))}
    if manifest.num_classes:
        expected[INPUT_LABEL] = (_INT64, [])
    batch_names = set()
    for name, (dtype, rest) in expected.items():
        value = inputs.get(name) or outputs[name]
        dims = _dims(value)
        if value.type.tensor_type.elem_type != dtype:
            raise ArtifactError(f"{where}: '{name}' has element type {value.type.tensor_type.elem_type}, expected {dtype}")
        if len(dims) != 1 + len(rest) or dims[1:] != rest:
            raise ArtifactError(f"{where}: '{name}' has shape {dims}, expected [batch, {', '.join(map(str, rest))}]")
        if fixed_batch is not None:
            if dims[0] != fixed_batch:
                raise ArtifactError(f"{where}: '{name}' has batch dimension {dims[0]}, expected the fixed {fixed_batch}")
            continue
        if not isinstance(dims[0], str) or dims[0] == "?":
            raise ArtifactError(f"{where}: '{name}' has a fixed batch dimension {dims[0]}; the export must be dynamic")
        batch_names.add(dims[0])
    if fixed_batch is None and len(batch_names) != 1:
        raise ArtifactError(f"{where}: inputs and output use different batch dimensions {sorted(batch_names)}")
    if external_tensors(model):
        raise ArtifactError(f"{where} keeps weights in external files; ganedge writes one self-contained file")
