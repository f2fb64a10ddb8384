"""What ``ganedge inspect`` shows about an artifact: manifest, graph, cost and TensorRT lint.

ONNX files are read by the pure-Python reader (``ganedge.artifacts.onnx_graph``): the manifest,
inputs/outputs, op counts, parameters and FLOPs need no onnx package, so the light install shows
them; onnx.checker and the TensorRT lint need onnx and, without it, say which extra brings it.
Works on ONNX files ganedge did not write (it says the manifest is missing), on TensorRT
engines (their sidecar manifest; the engine itself needs TensorRT to open) and on run
directories (config and parameter counts read from the safetensors header, without torch).
"""

from __future__ import annotations

import collections
import json
import struct
from pathlib import Path
from typing import Any

from ganedge.artifacts.manifest import Manifest, sha256_file, sidecar_path
from ganedge.artifacts.onnx_graph import dtype_name
from ganedge.artifacts.trt_sidecar import ENGINE_SUFFIXES, check_engine_bytes
from ganedge.errors import ArtifactError, GanEdgeError

_QDQ = ("QuantizeLinear", "DequantizeLinear")


def describe(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path} does not exist; pass an .onnx file, a TensorRT engine or a run directory")
    if path.is_dir():
        return describe_run_dir(path)
    if path.suffix.lower() in ENGINE_SUFFIXES:
        return describe_engine(path)
    return describe_onnx(path)


def describe_onnx(path: Path) -> dict[str, Any]:
    """Everything but the checker and the lint comes from the pure-Python reader, so the light install
    shows it; those two need onnx and say so when it is missing."""
    from ganedge.artifacts.onnx_graph import read_onnx_graph
    from ganedge.artifacts.onnx_meta import manifest_from_metadata
    from ganedge.artifacts.onnx_safety import check_onnx_file
    from ganedge.export.flops import count_file_flops

    summary = check_onnx_file(path)  # before anything reads it: truncation, foreign bytes, escaping data
    graph = read_onnx_graph(path)  # shapes and counts need no weight bytes
    info: dict[str, Any] = {"path": str(path), "format": "onnx", "size_bytes": summary.size_bytes,
                            "sha256": sha256_file(path)}
    info.update(_manifest_info(lambda: manifest_from_metadata(graph.metadata, where=path.name),
                               "no ganedge manifest (metadata key 'ganedge'): not exported by ganedge"))
    info.update({
        "ir_version": graph.ir_version,
        "opset": {domain or "ai.onnx": version for domain, version in graph.opsets.items()},
        "producer": " ".join(p for p in (graph.producer_name, graph.producer_version) if p) or None,
        "inputs": [_value(v) for v in graph.feeds],
        "outputs": [_value(v) for v in graph.outputs],
        "nodes": len(graph.nodes),
        "op_histogram": dict(collections.Counter(n.qualified_op for n in graph.nodes).most_common()),
        **_parameters(graph),
        "external_data": [t.location for t in summary.external_data],
        "precision": (info.get("manifest") or {}).get("precision") or _guess_precision(graph),
    })
    info["flops"] = count_file_flops(path, graph).to_dict()
    info["flops_per_sample"] = info["flops"]["flops_per_sample"]
    info.update(_onnx_checks(path, summary.self_contained))
    other = {k: v for k, v in graph.metadata.items() if k != "ganedge"}
    if other:
        info["metadata_props"] = other
    return info


def _value(value) -> dict[str, Any]:
    shape = ["?" if d is None else d for d in value.shape or ()]
    return {"name": value.name, "dtype": value.dtype, "shape": shape}


def _onnx_checks(path: Path, self_contained: bool) -> dict[str, Any]:
    """onnx.checker and the TensorRT lint, which need the onnx package; without it, what to install."""
    from ganedge.extras import MissingExtraError, needs, require

    try:
        onnx = require("onnx", "onnx.checker")
    except MissingExtraError:
        return {"checker": None, "lint": None,
                "unavailable": {"checker": needs("onnx.checker", "onnx"), "lint": needs("the TensorRT lint", "onnx")}}
    from ganedge.export.lint import lint_tensorrt

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf DecodeError and friends
        raise ArtifactError(f"{path} cannot be parsed as ONNX ({type(exc).__name__}: {exc})") from None
    return {"checker": _checker(model, self_contained), "lint": lint_tensorrt(model).to_dict()}


def describe_engine(path: Path) -> dict[str, Any]:
    size = path.stat().st_size
    if size == 0:
        raise ArtifactError(f"{path} is empty (0 bytes); rebuild it with `ganedge export trt`")
    sidecar = sidecar_path(path)
    info: dict[str, Any] = {"path": str(path), "format": "tensorrt", "size_bytes": size, "sidecar": str(sidecar)}

    def read() -> Manifest | None:
        if not sidecar.is_file():
            return None
        manifest = Manifest.from_json(sidecar.read_text(encoding="utf-8"), where=str(sidecar))
        # A sidecar beside a swapped or rebuilt engine describes another file: say so, don't show it as this one's.
        check_engine_bytes(manifest, path.read_bytes(), path)
        return manifest

    info.update(_manifest_info(read, f"no sidecar manifest {sidecar.name}: build engines with `ganedge export trt`"))
    info["note"] = "layers and bindings of an engine need TensorRT to read; inspect the ONNX file it was built from"
    return info


def describe_run_dir(path: Path) -> dict[str, Any]:
    from ganedge.artifacts.run_dir import STATE_FILE, WEIGHTS_FILE, read_config

    config = read_config(path)
    model = config.model
    info: dict[str, Any] = {"path": str(path), "format": "run", "arch": model.arch, "dataset": config.dataset,
                            "latent_dim": model.latent_dim, "image_shape": list(model.image_shape),
                            "num_classes": model.num_classes, "config": config.to_dict()}
    weights = path / WEIGHTS_FILE
    if weights.is_file():
        info["weights"] = {"size_bytes": weights.stat().st_size, "parameters": _safetensors_parameters(weights)}
    state = path / STATE_FILE
    if state.is_file():
        try:
            info["train_step"] = json.loads(state.read_text(encoding="utf-8")).get("step")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            info["train_step"] = None
    return info


def _manifest_info(read, missing_note: str) -> dict[str, Any]:
    try:
        manifest = read()
    except GanEdgeError as exc:
        return {"manifest": None, "manifest_note": f"manifest is invalid: {exc}"}
    if manifest is None:
        return {"manifest": None, "manifest_note": missing_note}
    return {"manifest": manifest.to_dict(), "manifest_note": None}


def _parameters(graph) -> dict[str, Any]:
    """Weights, counted once: Q/DQ scales and zero points and small integer shape constants are not parameters."""
    plumbing = {i for n in graph.nodes if n.op_type in _QDQ for i in n.inputs[1:]}
    count, size, dtypes = 0, 0, collections.Counter()
    for t in graph.initializers.values():
        size += t.nbytes
        dtype = dtype_name(t.data_type) if t.data_type else "?"
        if t.name in plumbing or (dtype == "int64" and t.elements <= 8):
            continue
        count += t.elements
        dtypes[dtype] += t.elements
    return {"parameters": count, "parameter_bytes": size, "parameter_dtypes": dict(dtypes)}


def _guess_precision(graph) -> str:
    if any(n.op_type in _QDQ for n in graph.nodes):
        return "int8"
    float_types = collections.Counter(t.data_type for t in graph.initializers.values() if t.data_type in (1, 10, 16))
    if float_types:
        return {1: "fp32", 10: "fp16", 16: "bf16"}[float_types.most_common(1)[0][0]]
    return "unknown"


def _checker(model, self_contained: bool) -> str:
    import onnx

    try:
        onnx.checker.check_model(model, full_check=self_contained)
    except Exception as exc:  # ValidationError, InferenceError
        return f"fails: {str(exc).strip().splitlines()[0]}"
    return "ok"


def _safetensors_parameters(path: Path) -> dict[str, int]:
    """Parameters per module prefix (G, G_ema, D) from the safetensors JSON header; no tensors loaded."""
    try:
        with open(path, "rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            if length > 100_000_000:
                raise ValueError("header too large")
            header = json.loads(handle.read(length))
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path} is not a readable safetensors file ({exc})") from None
    data_end = max((int(e["data_offsets"][1]) for k, e in header.items()
                    if k != "__metadata__" and isinstance(e, dict) and "data_offsets" in e), default=0)
    if 8 + length + data_end > path.stat().st_size:
        raise ArtifactError(f"{path} is truncated: its header describes {8 + length + data_end} bytes but the file "
                            f"has {path.stat().st_size}; the checkpoint is damaged")
    counts: dict[str, int] = collections.Counter()
    for key, entry in header.items():
        if key == "__metadata__" or not isinstance(entry, dict):
            continue
        elements = 1
        for dim in entry.get("shape", []):
            elements *= int(dim)
        counts[key.partition(".")[0]] += elements
    return dict(counts)
