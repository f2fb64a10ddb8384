"""What the engine builder needs to know about an ONNX file before TensorRT sees it.

Reads the graph without its external weights (cheap even for large models): the ganedge
manifest, the inputs and whether their batch dimension is fixed, whether Q/DQ nodes are
present, and the file's sha256 for the sidecar.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ganedge.errors import ArtifactError, BackendUnavailableError
from ganedge.artifacts.onnx_safety import check_onnx_file
from ganedge.artifacts.manifest import ONNX_METADATA_KEY, Manifest, sha256_file

QDQ_OPS = frozenset({"QuantizeLinear", "DequantizeLinear"})


@dataclass(frozen=True)
class OnnxInfo:
    path: Path
    manifest: Manifest
    input_names: tuple[str, ...]
    static_batch: int | None  # the inputs' fixed batch size; None when symbolic (dynamic)
    has_qdq: bool
    sha256: str


def _load_graph(path: Path):
    try:
        import onnx
    except ImportError:
        raise BackendUnavailableError("reading an ONNX file needs the onnx package: pip install 'ganedge[train]'") from None
    try:
        return onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError, ValueError, ... for junk; all mean the same to a user
        raise ArtifactError(f"{path} is not a readable ONNX model ({type(exc).__name__}: {exc})") from None


def inspect_onnx(path: str | Path) -> OnnxInfo:
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"ONNX file {path} does not exist; export one with `ganedge export onnx RUN_DIR -o {path.name}`")
    if path.stat().st_size == 0:
        raise ArtifactError(f"ONNX file {path} is empty; export it again with `ganedge export onnx`")
    # TensorRT's parser reads external data wherever the file points: refuse escapes first.
    check_onnx_file(path)
    model = _load_graph(path)
    meta = {p.key: p.value for p in model.metadata_props}
    if ONNX_METADATA_KEY not in meta:
        raise ArtifactError(f"{path} carries no ganedge manifest (metadata key {ONNX_METADATA_KEY!r}); "
                            "export it with `ganedge export onnx` so the engine knows its latent size and image shape")
    manifest = Manifest.from_json(meta[ONNX_METADATA_KEY], where=str(path))

    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    names = tuple(i.name for i in inputs)
    missing = [n for n in manifest.inputs if n not in names]
    if missing:
        raise ArtifactError(f"{path}: the manifest names inputs {list(manifest.inputs)} but the graph has {list(names)}")
    outputs = [o.name for o in model.graph.output]
    if manifest.output not in outputs:
        raise ArtifactError(f"{path}: the manifest names output {manifest.output!r} but the graph has {outputs}")

    static: set[int] = set()
    dynamic = False
    for inp in inputs:
        dims = inp.type.tensor_type.shape.dim
        if not dims:
            raise ArtifactError(f"{path}: input {inp.name!r} has no shape; re-export with `ganedge export onnx`")
        first = dims[0]
        if first.HasField("dim_value") and first.dim_value > 0:
            static.add(int(first.dim_value))
        else:
            dynamic = True
    if len(static) > 1 or (static and dynamic):
        raise ArtifactError(f"{path}: inputs disagree on the batch dimension ({sorted(static)}, dynamic={dynamic})")
    has_qdq = any(node.op_type in QDQ_OPS for node in model.graph.node)
    return OnnxInfo(path=path, manifest=manifest, input_names=names,
                    static_batch=static.pop() if static else None, has_qdq=has_qdq, sha256=sha256_file(path))
