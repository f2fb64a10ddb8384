"""What the engine builder needs to know about an ONNX file before TensorRT sees it.

Reads the graph with the pure-Python reader (no onnx package, no weights: cheap even for large
models, and a [gpu]-only install can build engines): the ganedge manifest, the inputs and
whether their batch dimension is fixed, whether Q/DQ nodes are present, and the file's sha256
for the sidecar.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ganedge.artifacts.manifest import ONNX_METADATA_KEY, Manifest, sha256_file
from ganedge.artifacts.onnx_graph import read_onnx_graph
from ganedge.artifacts.onnx_safety import check_onnx_file
from ganedge.errors import ArtifactError

QDQ_OPS = frozenset({"QuantizeLinear", "DequantizeLinear"})


@dataclass(frozen=True)
class OnnxInfo:
    path: Path
    manifest: Manifest
    input_names: tuple[str, ...]
    static_batch: int | None  # the inputs' fixed batch size; None when symbolic (dynamic)
    has_qdq: bool
    sha256: str


def inspect_onnx(path: str | Path) -> OnnxInfo:
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"ONNX file {path} does not exist; export one with `ganedge export onnx RUN_DIR -o {path.name}`")
    if path.stat().st_size == 0:
        raise ArtifactError(f"ONNX file {path} is empty; export it again with `ganedge export onnx`")
    # TensorRT's parser reads external data wherever the file points: refuse escapes first.
    check_onnx_file(path)
    graph = read_onnx_graph(path)
    meta = graph.metadata
    if ONNX_METADATA_KEY not in meta:
        raise ArtifactError(f"{path} carries no ganedge manifest (metadata key {ONNX_METADATA_KEY!r}); "
                            "export it with `ganedge export onnx` so the engine knows its latent size and image shape")
    manifest = Manifest.from_json(meta[ONNX_METADATA_KEY], where=str(path))

    inputs = graph.feeds
    names = tuple(i.name for i in inputs)
    missing = [n for n in manifest.inputs if n not in names]
    if missing:
        raise ArtifactError(f"{path}: the manifest names inputs {list(manifest.inputs)} but the graph has {list(names)}")
    outputs = [o.name for o in graph.outputs]
    if manifest.output not in outputs:
        raise ArtifactError(f"{path}: the manifest names output {manifest.output!r} but the graph has {outputs}")

    static: set[int] = set()
    dynamic = False
    for inp in inputs:
        if not inp.shape:
            raise ArtifactError(f"{path}: input {inp.name!r} has no shape; re-export with `ganedge export onnx`")
        first = inp.shape[0]
        if isinstance(first, int) and first > 0:
            static.add(first)
        else:
            dynamic = True
    if len(static) > 1 or (static and dynamic):
        raise ArtifactError(f"{path}: inputs disagree on the batch dimension ({sorted(static)}, dynamic={dynamic})")
    has_qdq = any(node.op_type in QDQ_OPS for node in graph.nodes)
    return OnnxInfo(path=path, manifest=manifest, input_names=names,
                    static_batch=static.pop() if static else None, has_qdq=has_qdq, sha256=sha256_file(path))
