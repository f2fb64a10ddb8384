"""``ganedge.sdk.load``: artifact -> backend -> Generator.

The artifact's kind fixes the backend family: an ONNX file runs on onnxruntime (CPU, or its
CUDA / TensorRT execution providers) or OpenVINO (CPU), a TensorRT engine (.engine/.plan) on
TensorRT, a run directory on torch. ``backend="auto"`` takes that family — for ONNX files on the
CPU, the runtime :mod:`ganedge.sdk.autoselect` picks (onnxruntime unless ``precision=`` allows
timing the others); ``device="auto"`` takes a GPU when the installed packages can use one and
falls back to the CPU otherwise. The choice is logged (logger ``ganedge.sdk``, INFO) and kept in
``Generator.backend_info["selected"]`` (and its figures in ``backend_info["auto"]``).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from pathlib import Path
from typing import Any

from ganedge.artifacts.manifest import Manifest
from ganedge.artifacts.run_dir import is_run_dir, read_config
from ganedge.artifacts.trt_sidecar import ENGINE_SUFFIXES, read_sidecar
from ganedge.errors import ArtifactError, BackendUnavailableError, BadInputError
from ganedge.extras import install_hint, is_installed
from ganedge.models.reference import looks_like_reference
from ganedge.sdk.backends import BACKEND_CHOICES, BACKEND_MODULES
from ganedge.sdk.generator import Generator

log = logging.getLogger("ganedge.sdk")

_ALIASES = {"ort": "onnxruntime", "onnx": "onnxruntime", "trt": "tensorrt", "pytorch": "torch", "pt": "torch",
            "ov": "openvino"}
_FAMILY = {"onnx": "onnxruntime", "engine": "tensorrt", "run_dir": "torch", "module": "torch"}
_ALSO_RUNS = {"onnx": ("openvino",)}  # backends besides the family's own that run an artifact kind
_WRONG_FAMILY = {
    ("onnx", "tensorrt"): "build an engine with `ganedge export trt MODEL.onnx -o model.engine`, or use "
                          "backend='onnxruntime', provider='tensorrt' (onnxruntime's TensorRT execution provider)",
    ("onnx", "torch"): "the torch backend runs run directories; load the run directory the ONNX file came from",
    ("engine", "onnxruntime"): "load the ONNX file the engine was built from",
    ("engine", "torch"): "load the run directory the engine was built from",
    ("run_dir", "onnxruntime"): "export it first: `ganedge export onnx RUN_DIR -o model.onnx`",
    ("run_dir", "tensorrt"): "export it first: `ganedge export onnx`, then `ganedge export trt`",
    ("run_dir", "openvino"): "export it first: `ganedge export onnx RUN_DIR -o model.onnx`",
    ("engine", "openvino"): "load the ONNX file the engine was built from",
    ("module", "openvino"): "export it first: `ganedge export onnx FILE.py:NAME -o model.onnx --latent-dim N`",
    ("module", "onnxruntime"): "export it first: `ganedge export onnx FILE.py:NAME -o model.onnx --latent-dim N`",
    ("module", "tensorrt"): "export it first: `ganedge export onnx FILE.py:NAME ...`, then `ganedge export trt`",
}


def artifact_kind(path: str | os.PathLike) -> str:
    """"onnx", "engine", "run_dir" or "module" (a module reference); ArtifactError for anything else."""
    if looks_like_reference(os.fspath(path)):
        return "module"
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path} does not exist; expected an .onnx file, a TensorRT .engine/.plan, a run directory "
                            "or a module reference FILE.py:NAME")
    if path.is_dir():
        if not is_run_dir(path):
            raise ArtifactError(f"{path} is a folder but not a ganedge run directory (no config.json); "
                                "train one with `ganedge train`, or pass a model file")
        return "run_dir"
    suffix = path.suffix.lower()
    if suffix in ENGINE_SUFFIXES:
        return "engine"
    return "onnx"  # .onnx or anything else: the ONNX check below says if it is not ONNX


def preflight(path: str | os.PathLike, backend: str = "auto") -> tuple[str, ...]:
    """The checks :func:`load` makes before it imports any runtime, then the optional packages it will import.

    An ONNX file must pass the safety scan, an engine must have its sidecar, a run directory its
    config; module references are checked when they are imported. Commands call this before long
    work, so a bad input is named first and then every missing extra at once
    (``ganedge.extras.require_all``), in one line. With ``backend="auto"`` any installed backend that
    runs the artifact will do (OpenVINO alone runs ONNX files); when none is, the family's own is named.
    """
    text = os.fspath(path)
    kind = artifact_kind(text)
    name = resolve_backend(backend, kind)[0]
    if _ALIASES.get(str(backend).lower(), str(backend).lower()) == "auto":
        runs = (name, *_ALSO_RUNS.get(kind, ()))
        name = next((b for b in runs if all(map(is_installed, BACKEND_MODULES[b]))), name)
    if kind == "onnx":
        from ganedge.artifacts.onnx_safety import check_onnx_file

        check_onnx_file(text)
    elif kind == "engine":
        read_sidecar(text)
    elif kind == "run_dir":
        read_config(text)
    return BACKEND_MODULES[name]


def resolve_backend(backend: str, kind: str) -> tuple[str, str]:
    """(backend name, how it was chosen) for an artifact of ``kind``."""
    name = _ALIASES.get(str(backend).lower(), str(backend).lower())
    if name not in BACKEND_CHOICES:
        raise BadInputError(f"backend {backend!r} is not one of {', '.join(BACKEND_CHOICES)}")
    family = _FAMILY[kind]
    if name == "auto":
        return family, f"backend auto: {family} runs {kind.replace('_', ' ')} artifacts"
    if name != family and name not in _ALSO_RUNS.get(kind, ()):
        raise BadInputError(f"backend {name!r} cannot run a {kind.replace('_', ' ')} artifact; {_WRONG_FAMILY[(kind, name)]}")
    return name, f"backend {name}: requested"


def read_manifest_override(manifest: Any) -> Manifest | None:
    """``manifest=`` may be a Manifest, a dict, or a path to a JSON file (for foreign ONNX files)."""
    if manifest is None or isinstance(manifest, Manifest):
        return manifest
    if isinstance(manifest, dict):
        return Manifest.from_dict(manifest, where="manifest=")
    if isinstance(manifest, (str, os.PathLike)):
        path = Path(manifest)
        if not path.is_file():
            raise ArtifactError(f"manifest file {path} does not exist")
        return Manifest.from_json(path.read_text(encoding="utf-8"), where=str(path))
    raise BadInputError(f"manifest= must be a Manifest, a dict or a JSON file path, got {type(manifest).__name__}")


def _check_options(loader, options: dict[str, Any], backend: str) -> None:
    """Refuse an option the backend's loader does not take, naming those it does."""
    params = inspect.signature(loader).parameters
    known = sorted(name for name, p in params.items()
                   if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and name not in ("self", "path", "engine_path",
                                                                                          "run_dir", "manifest", "device", "threads"))
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise BadInputError(f"unknown option {unknown[0]!r} for the {backend} backend; it takes {', '.join(known) or 'none'}")


def _check_device(device: str) -> str:
    text = str(device).strip().lower()
    head, _, index = text.partition(":")
    if text in ("auto", "cpu", "cuda") or (head == "cuda" and index.isdigit()):
        return text
    raise BadInputError(f"device {device!r} is not one of auto, cpu, cuda, cuda:N")


def _load_onnx(path: Path, device: str, threads, manifest, options, requested: str):
    from ganedge.artifacts.onnx_safety import check_onnx_file  # pure Python: no onnx or protobuf needed

    check_onnx_file(path)  # missing/empty/truncated/not ONNX/external data escaping its folder
    if requested == "openvino":
        return _load_openvino(path, device, threads, manifest, options)
    if requested != "auto":
        return _load_onnxruntime(path, device, threads, manifest, options)
    if "precision" in options or "batch_size" in options or not _onnxruntime_installed():
        return _load_onnx_auto_cpu(path, device, threads, manifest, options)
    runner, how, _ = _load_onnxruntime(path, device, threads, manifest, options)
    if runner.device != "cpu":
        return runner, how, None
    from ganedge.sdk.autoselect import explain

    return runner, f"{explain('onnxruntime fp32', None, None, False)}; {how}", {"candidates": ["onnxruntime fp32"]}


def _onnxruntime_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


def _load_onnxruntime(path: Path, device: str, threads, manifest, options):
    from ganedge.sdk.backends.onnxrt.loader import import_onnxruntime, load_session
    from ganedge.sdk.backends.onnxrt.runner import OnnxRuntimeRunner

    _check_options(load_session, options, "onnxruntime")
    if device == "auto" and options.get("provider") in ("cuda", "tensorrt"):
        device = "cuda"  # a GPU provider was asked for: say so if it is missing, never fall back silently
    if device != "auto":
        return OnnxRuntimeRunner(path, manifest, device, threads, **options), f"device {device}: requested", None
    ort = import_onnxruntime()
    if "CUDAExecutionProvider" in ort.get_available_providers():
        try:
            return (OnnxRuntimeRunner(path, manifest, "cuda", threads, **options),
                    "device auto: onnxruntime-gpu found a GPU", None)
        except BackendUnavailableError as exc:  # onnxruntime-gpu on a machine without a usable GPU
            log.warning("ganedge.sdk: CUDA unusable (%s); running %s on the CPU", exc, path.name)
    return OnnxRuntimeRunner(path, manifest, "cpu", threads, **options), "device auto: cpu (no usable CUDA provider)", None


def _load_openvino(path: Path, device: str, threads, manifest, options):
    from ganedge.sdk.backends.openvino.loader import load_model
    from ganedge.sdk.backends.openvino.runner import OpenVinoRunner

    _check_options(load_model, options, "openvino")
    if device.startswith("cuda"):
        raise BadInputError(f"the openvino backend runs on the CPU; got device={device!r} (use cpu, or backend "
                            "'onnxruntime' / a TensorRT engine on the GPU)")
    how = "device cpu: requested" if device == "cpu" else "device auto: cpu (the openvino backend runs on the CPU)"
    return OpenVinoRunner(path, manifest, "cpu", threads, **options), how, None


def _load_onnx_auto_cpu(path: Path, device: str, threads, manifest, options):
    """backend auto on the CPU: the runtime :func:`ganedge.sdk.autoselect.select` picks."""
    from ganedge.sdk import autoselect

    if device.startswith("cuda"):
        raise BadInputError("precision= with backend='auto' picks among CPU runtimes; on a GPU use "
                            "backend='onnxruntime' with provider='cuda'/'tensorrt', or a TensorRT engine")
    rest = dict(options)
    precision, batch_size = rest.pop("precision", None), rest.pop("batch_size", None)

    def build(candidate):
        if candidate.backend == "openvino":
            runner, _, _ = _load_openvino(path, "cpu", threads, manifest, candidate.options)
        else:
            runner, _, _ = _load_onnxruntime(path, "cpu", threads, manifest, candidate.options)
        return runner

    runner, why, details = autoselect.select(path, manifest, threads, precision, batch_size, rest, build)
    where = "device cpu: requested" if device == "cpu" else "device auto: cpu"
    return runner, f"{why}; {where}", details


def _load_engine(path: Path, device: str, manifest, options):
    try:
        from ganedge.sdk.backends.tensorrt.runner import TensorRTRunner
    except ImportError as exc:
        raise BackendUnavailableError(f"the TensorRT backend cannot be imported ({exc}); "
                                      f"{install_hint('tensorrt')} on a machine with an NVIDIA GPU") from None
    _check_options(TensorRTRunner.__init__, options, "tensorrt")
    device = "cuda" if device == "auto" else device
    if not device.startswith("cuda"):
        raise BadInputError(f"TensorRT engines run on a GPU only; got device={device!r} (use cuda or cuda:N)")
    return TensorRTRunner(path, manifest, device=device, **options), f"device {device}"


def _load_torch(source: str, device: str, threads, options):
    from ganedge.sdk.backends.pytorch.loader import import_torch, load_module
    from ganedge.sdk.backends.pytorch.runner import TorchRunner

    _check_options(load_module, options, "torch")
    how = f"device {device}: requested"
    if device == "auto":
        torch = import_torch()
        device = "cuda" if torch.cuda.is_available() else "cpu"
        how = f"device auto: {'torch sees a GPU' if device == 'cuda' else 'cpu (torch sees no GPU)'}"
    return TorchRunner(source, device=device, threads=threads, **options), how


def load(path: str | os.PathLike, backend: str = "auto", device: str = "auto", threads: int | None = None, *,
         manifest: Manifest | dict | str | os.PathLike | None = None, **options: Any) -> Generator:
    """Load an .onnx file, a TensorRT .engine/.plan, a run directory or a module reference as a :class:`Generator`.

    ``threads``: CPU threads for onnxruntime's intra-op pool or OpenVINO (default: the cores this
    process may use) or torch (default: leave torch's process-wide setting alone). ``manifest``: describes a
    foreign ONNX file that has no ganedge manifest (a Manifest, a dict or a JSON path).
    ``options`` go to the backend: onnxruntime ``provider`` ("auto", "cpu", "cuda", "tensorrt"),
    ``trt_fp16``, ``trt_profile``, ``trt_cache_dir``, ``graph_optimization``, ``session_config``;
    openvino ``precision`` ("fp32", "bf16", "auto"), ``performance_hint``, ``config``; for an ONNX file
    with backend "auto", ``precision`` ("fp32", "bf16", "auto") and ``batch_size`` let it time the
    installed CPU runtimes (:mod:`ganedge.sdk.autoselect`); torch ``precision`` ("fp32", "bf16", "fp16"), ``channels_last``, ``cuda_graphs``, ``ema`` and, for a
    module reference (``FILE.py:NAME`` or ``package.module:NAME``, a generator trained elsewhere),
    ``latent_dim``, ``num_classes``, ``output_range``, ``weights`` (a .safetensors file), ``class_names``;
    tensorrt ``cuda_graphs``.
    """
    text = os.fspath(path)
    kind = artifact_kind(text)
    name, how_backend = resolve_backend(backend, kind)
    device = _check_device(device)
    if kind in ("run_dir", "module") and manifest is not None:
        raise BadInputError("manifest= is for ONNX files and engines; a run directory or module reference describes "
                            "itself (config.json, or latent_dim=/num_classes=/output_range=)")
    override = read_manifest_override(manifest)
    details = None
    if kind == "onnx":
        requested = "auto" if str(backend).lower() == "auto" else name
        runner, how_device, details = _load_onnx(Path(text), device, threads, override, options, requested)
        if details is not None or runner.name != name:  # autoselect explained the backend itself
            how_backend = ""
    elif kind == "engine":
        if threads is not None:
            raise BadInputError("threads= applies to CPU backends; TensorRT engines run on the GPU")
        runner, how_device = _load_engine(Path(text), device, override, options)
    else:
        runner, how_device = _load_torch(text, device, threads, options)
    selection = f"{how_backend}; {how_device}" if how_backend else how_device
    generator = Generator(runner, source=text, selection=selection, selection_details=details)
    log.info("ganedge.sdk: %s -> %s", text, json.dumps(runner.describe(), default=str))
    log.info("ganedge.sdk: %s", selection)
    return generator
