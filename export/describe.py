"""What ``ganedge inspect`` shows about an artifact: manifest, graph, cost and TensorRT lint.

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

from ganedge.errors import ArtifactError, GanEdgeError
from ganedge.artifacts.trt_sidecar import check_engine_bytes
from ganedge.artifacts.manifest import Manifest, sha256_file, sidecar_path
from ganedge.artifacts.trt_sidecar import ENGINE_SUFFIXES

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
    import onnx

    from ganedge.export.check import io_signature
    from ganedge.export.flops import count_flops
    from ganedge.export.lint import lint_tensorrt
    from ganedge.artifacts.onnx_meta import read_manifest
    from ganedge.artifacts.onnx_safety import check_onnx_file

    summary = check_onnx_file(path)  # before onnx touches it: truncation, foreign bytes, escaping data
    try:
        model = onnx.load(str(path), load_external_data=False)  # shapes and counts need no weight bytes
    except Exception as exc:  # protobuf DecodeError and friends
        raise ArtifactError(f"{path} cannot be parsed as ONNX ({type(exc).__name__}: {exc})") from None
    info: dict[str, Any] = {"path": str(path), "format": "onnx", "size_bytes": summary.size_bytes,
                            "sha256": sha256_file(path)}
    info.update(_manifest_info(lambda: read_manifest(model, where=path.name),
                               "no ganedge manifest (metadata key 'ganedge'): not exported by ganedge"))
    info.update({
        "ir_version": model.ir_version,
        "opset": {o.domain or "ai.onnx": o.version for o in model.opset_import},
        "producer": " ".join(p for p in (model.producer_name, model.producer_version) if p) or None,
        **io_signature(model),
        "nodes": len(model.graph.node),
        "op_histogram": dict(collections.Counter(
            n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}::{n.op_type}" for n in model.graph.node
        ).most_common()),
        **_parameters(model),
        "external_data": [t.location for t in summary.external_data],
        "precision": (info.get("manifest") or {}).get("precision") or _guess_precision(model),
        "checker": _checker(model, summary.self_contained),
    })
    info["flops"] = count_flops(model).to_dict()
    info["flops_per_sample"] = info["flops"]["flops_per_sample"]
    info["lint"] = lint_tensorrt(model).to_dict()
    other = {p.key: p.value for p in model.metadata_props if p.key != "ganedge"}
    if other:
        info["metadata_props"] = other
    return info


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


def _parameters(model) -> dict[str, Any]:
    """Weights, counted once: Q/DQ scales and zero points and small integer shape constants are not parameters."""
    import numpy as np
    from onnx import helper

    plumbing = {i for n in model.graph.node if n.op_type in _QDQ for i in n.input[1:]}
    count, size, dtypes = 0, 0, collections.Counter()
    for t in model.graph.initializer:
        elements = int(np.prod(t.dims)) if len(t.dims) else 1
        dtype = helper.tensor_dtype_to_np_dtype(t.data_type).name if t.data_type else "?"
        size += elements * (np.dtype(dtype).itemsize if dtype != "?" else 0)
        if t.name in plumbing or (dtype.startswith("int64") and elements <= 8):
            continue
        count += elements
        dtypes[dtype] += elements
    return {"parameters": count, "parameter_bytes": size, "parameter_dtypes": dict(dtypes)}


def _guess_precision(model) -> str:
    if any(n.op_type in _QDQ for n in model.graph.node):
        return "int8"
    float_types = collections.Counter(t.data_type for t in model.graph.initializer if t.data_type in (1, 10, 16))
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
