"""``ganedge export triton``: a Triton Inference Server model repository for one artifact.

    REPO/<name>/config.pbtxt      platform, I/O, dynamic batching, instances, warm-up, the manifest
    REPO/<name>/ganedge.json      the ganedge manifest (an engine's: its sidecar), plus where the artifact went
    REPO/<name>/<version>/model.onnx   (platform onnxruntime_onnx; external-data files beside it)
    REPO/<name>/<version>/model.plan   (platform tensorrt_plan, from a .engine/.plan and its sidecar)

Triton serves tensors, not seeds: a client makes z with ``ganedge.sdk.latents(seeds, latent_dim)``
and converts the float image with ``ganedge.images.to_uint8_nhwc``; then Triton's images equal
``sdk.load(...).sample`` on the same seeds (see examples/README.md).

config.pbtxt is rendered by ganedge.export.triton_config. The model folder is built under a hidden temporary name inside REPO and renamed into place,
so Triton (or a reader) never sees half a model; an existing one is replaced only with ``force``.

Pure Python apart from onnxruntime, used once to read an ONNX file's real inputs and outputs
(the engine path needs neither TensorRT nor a GPU: everything comes from the sidecar).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganedge.errors import ArtifactError, BadInputError, ConfigError, OutputError
from ganedge.export.triton_config import per_item_shapes, render_config
from ganedge.fsutil import atomic_dir, ensure_writable_dir
from ganedge.artifacts.manifest import Manifest, sha256_file
from ganedge.artifacts.trt_sidecar import ENGINE_SUFFIXES

KINDS = ("KIND_AUTO", "KIND_GPU", "KIND_CPU")
DEFAULT_ONNX_MAX_BATCH = 64
DEFAULT_QUEUE_DELAY_US = 100
MANIFEST_FILE = "ganedge.json"
CONFIG_FILE = "config.pbtxt"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# onnxruntime's type strings -> Triton's data types (model_config.proto DataType)
_ORT_TYPES = {"tensor(float)": "TYPE_FP32", "tensor(float16)": "TYPE_FP16", "tensor(bfloat16)": "TYPE_BF16",
              "tensor(double)": "TYPE_FP64", "tensor(int64)": "TYPE_INT64", "tensor(int32)": "TYPE_INT32",
              "tensor(uint8)": "TYPE_UINT8", "tensor(int8)": "TYPE_INT8", "tensor(bool)": "TYPE_BOOL"}


@dataclass(frozen=True)
class TritonOptions:
    name: str | None = None  # default: the artifact's file stem
    max_batch: int | None = None  # None: 64 for ONNX, the profile's MAX for engines; 0 = no batching
    max_queue_delay_us: int | None = None  # None: DEFAULT_QUEUE_DELAY_US when batching
    preferred_batch_sizes: tuple[int, ...] = ()
    max_queue_size: int = 0  # 0 = unbounded (Triton's default); else requests beyond it are rejected
    instances: int = 1
    kind: str | None = None  # None: KIND_GPU for engines, KIND_AUTO (GPU if present) for ONNX
    version: int = 1
    warmup: bool = True
    force: bool = False


@dataclass
class ModelSource:
    """What the writer needs from an artifact: its manifest, I/O and the files to copy."""

    path: Path
    platform: str  # "onnxruntime_onnx" or "tensorrt_plan"
    filename: str  # "model.onnx" or "model.plan"
    manifest: Manifest
    inputs: list[tuple[str, str, tuple[int | None, ...]]]  # (name, Triton type, full shape; None = dynamic)
    outputs: list[tuple[str, str, tuple[int | None, ...]]]
    static_batch: int | None = None  # the ONNX's fixed batch size, None when dynamic
    profile_max: int | None = None  # engines: the largest batch the profile accepts
    extra_files: list[str] = field(default_factory=list)  # external data, relative to the model's folder


@dataclass
class TritonResult:
    repository: Path
    name: str
    model_dir: Path
    platform: str
    max_batch: int
    config_text: str
    files: list[str]
    replaced: bool
    sha256: str
    manifest: Manifest

    def to_dict(self) -> dict[str, Any]:
        return {"repository": str(self.repository), "name": self.name, "model_dir": str(self.model_dir),
                "platform": self.platform, "max_batch_size": self.max_batch, "files": self.files,
                "replaced": self.replaced, "artifact_sha256": self.sha256,
                "config": str(self.model_dir / CONFIG_FILE), "manifest": self.manifest.to_dict()}


# --- reading the artifact -------------------------------------------------------------------------


def read_source(path: str | os.PathLike) -> ModelSource:
    """An ONNX file or a TensorRT engine (+ sidecar) -> ModelSource; ArtifactError for anything else."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path} does not exist; pass an .onnx file or a TensorRT .engine/.plan")
    if path.is_dir():
        raise ArtifactError(f"{path} is a folder; Triton serves exported models: run "
                            f"`ganedge export onnx {path} -o model.onnx` first and pass model.onnx")
    if path.suffix.lower() in ENGINE_SUFFIXES:
        return _read_engine(path)
    return _read_onnx(path)


def _read_onnx(path: Path) -> ModelSource:
    from ganedge.artifacts.onnx_safety import check_onnx_file
    from ganedge.sdk.backends.onnxrt.loader import create_session, read_session_manifest

    summary = check_onnx_file(path)  # truncated, foreign bytes, external data escaping its folder
    try:  # graph optimization off: we only read the signature
        session = create_session(path, threads=1, graph_optimization="disable").session
    except ArtifactError as exc:
        raise ArtifactError(f"{exc}; Triton could not serve it either") from None
    manifest = read_session_manifest(session, path)
    if manifest is None:
        raise ArtifactError(f"{path} has no ganedge manifest (metadata key 'ganedge'); export it with "
                            "`ganedge export onnx` so the repository can say what the model is")

    def specs(args) -> list[tuple[str, str, tuple[int | None, ...]]]:
        out = []
        for arg in args:
            if arg.type not in _ORT_TYPES:
                raise ArtifactError(f"{path}: tensor {arg.name!r} has type {arg.type}, which Triton cannot serve")
            shape = tuple(d if isinstance(d, int) and d > 0 else None for d in (arg.shape or ()))
            out.append((arg.name, _ORT_TYPES[arg.type], shape))
        return out

    inputs, outputs = specs(session.get_inputs()), specs(session.get_outputs())
    del session
    z_shape = dict((n, s) for n, _, s in inputs).get(manifest.inputs[0], ())
    static = z_shape[0] if z_shape and z_shape[0] is not None else None
    return ModelSource(path=path, platform="onnxruntime_onnx", filename="model.onnx", manifest=manifest,
                       inputs=inputs, outputs=outputs, static_batch=static,
                       extra_files=sorted({t.location for t in summary.external_data}))


def _read_engine(path: Path) -> ModelSource:
    from ganedge.artifacts.trt_profile import BatchProfile
    from ganedge.artifacts.trt_sidecar import check_engine_bytes, read_sidecar

    sidecar = read_sidecar(path)  # ArtifactError when missing or not a TensorRT sidecar
    check_engine_bytes(sidecar, path.read_bytes(), path)  # empty, stale or swapped engine
    profile = BatchProfile.from_dict(sidecar.extra["profile"], where=f"{path.name}.json profile")
    if profile.min > 1:  # also a fixed-batch engine B:B:B
        raise ConfigError(f"{path.name}'s batch profile {profile} starts at {profile.min}, but Triton's dynamic batcher "
                          f"sends batches of any size from 1; rebuild it with `ganedge export trt ... --batch "
                          f"1:{profile.opt}:{profile.max}`")
    m = sidecar
    # The engine keeps the ONNX's I/O types: z and image float32 (fp16/int8 exports keep_io_types), label int64.
    inputs = [(m.inputs[0], "TYPE_FP32", (None, m.latent_dim))]
    if m.conditional:
        if len(m.inputs) < 2:
            raise ArtifactError(f"{path.name}.json: a conditional model needs a label input, the manifest lists "
                                f"{list(m.inputs)}")
        inputs.append((m.inputs[1], "TYPE_INT64", (None,)))
    outputs = [(m.output, "TYPE_FP32", (None, *m.image_shape))]
    return ModelSource(path=path, platform="tensorrt_plan", filename="model.plan", manifest=sidecar,
                       inputs=inputs, outputs=outputs, profile_max=profile.max)


# --- checking the request against the artifact ------------------------------------------------------


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or name in (".", ".."):
        raise BadInputError(f"model name {name!r} is not a valid Triton model name: use letters, digits, '_', '-' "
                            "and '.', not starting with '.' or '-' (pass --name)")
    return name


def _check_contract(source: ModelSource) -> None:
    """The graph's inputs/outputs must be the manifest's, with the manifest's shapes."""
    m = source.manifest
    names = [n for n, _, _ in source.inputs]
    if sorted(names) != sorted(m.inputs):
        raise ArtifactError(f"{source.path}: the graph's inputs {names} are not the manifest's {list(m.inputs)}; "
                            "re-export it with `ganedge export onnx`")
    out_names = [n for n, _, _ in source.outputs]
    if m.output not in out_names:
        raise ArtifactError(f"{source.path}: the graph has no output {m.output!r} (it has {out_names})")
    expected = per_item_shapes(m)
    for name, _, shape in source.inputs + source.outputs:
        if name not in expected:
            continue
        want = expected[name]
        if len(shape) != len(want) + 1 or any(s is not None and s != w for s, w in zip(shape[1:], want)):
            raise ArtifactError(f"{source.path}: tensor {name!r} has shape {_show(shape)}, the manifest says "
                                f"[batch, {', '.join(map(str, want))}]")


def _show(shape) -> str:
    return "[" + ", ".join("?" if s is None else str(s) for s in shape) + "]"


def resolve_options(source: ModelSource, options: TritonOptions) -> tuple[str, int, int | None, str]:
    """(name, max_batch, queue delay or None, kind) after defaults and every check against the artifact."""
    name = check_name(options.name if options.name is not None else _default_name(source.path))
    engine = source.platform == "tensorrt_plan"
    max_batch = options.max_batch
    if max_batch is None:
        max_batch = source.profile_max if engine else (0 if source.static_batch else DEFAULT_ONNX_MAX_BATCH)
    _check_int("--max-batch", max_batch, 0)
    if engine and source.profile_max is not None and max_batch > source.profile_max:
        raise ConfigError(f"--max-batch {max_batch} is above {source.path.name}'s profile maximum {source.profile_max}; "
                          f"pass --max-batch {source.profile_max} or less, or rebuild the engine with a larger "
                          f"`--batch 1:OPT:{max_batch}`")
    if not engine and source.static_batch and max_batch > 0:
        raise ConfigError(f"{source.path.name} has a fixed batch of {source.static_batch}; Triton's batching needs a "
                          "dynamic batch dimension: re-export it, or pass --max-batch 0")
    if engine and max_batch == 0:
        raise ConfigError("--max-batch 0 is for models without a batch dimension; ganedge engines have one: pass "
                          f"--max-batch 1..{source.profile_max}")
    delay = options.max_queue_delay_us
    if max_batch == 0:
        if options.preferred_batch_sizes or delay is not None or options.max_queue_size:
            raise ConfigError("--preferred-batch-sizes, --max-queue-delay-us and --max-queue-size configure the "
                              "dynamic batcher, which needs --max-batch >= 1")
    else:
        delay = _check_int("--max-queue-delay-us", DEFAULT_QUEUE_DELAY_US if delay is None else delay, 0)
        bad = [b for b in options.preferred_batch_sizes if not 1 <= b <= max_batch]
        if bad:
            raise ConfigError(f"preferred batch size {bad[0]} is outside 1..{max_batch} (--max-batch)")
    _check_int("--max-queue-size", options.max_queue_size, 0)
    _check_int("--instances", options.instances, 1)
    _check_int("--version", options.version, 1)  # Triton ignores a version folder 0
    kind = options.kind or ("KIND_GPU" if engine else "KIND_AUTO")
    if kind not in KINDS:
        raise BadInputError(f"--kind {kind!r} is not one of {', '.join(KINDS)}")
    if engine and kind == "KIND_CPU":
        raise ConfigError("a TensorRT plan runs on a GPU only; use --kind KIND_GPU (or export the ONNX for KIND_CPU)")
    return name, max_batch, delay, kind


def _check_int(flag: str, value: Any, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise BadInputError(f"{flag} must be an integer >= {lo}, got {value!r}")
    return value


def _default_name(path: Path) -> str:
    stem = path.name.split(".")[0] or "model"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", stem).lstrip(".-") or "model"


# --- writing -----------------------------------------------------------------------------------------


def write_repository(model: str | os.PathLike, repository: str | os.PathLike,
                     options: TritonOptions = TritonOptions()) -> TritonResult:
    """Write ``repository/<name>/`` for ``model`` (an .onnx file or a TensorRT engine with its sidecar)."""
    source = read_source(model)
    _check_contract(source)
    name, max_batch, delay, kind = resolve_options(source, options)
    repo = Path(repository)
    if repo.exists() and not repo.is_dir():
        raise OutputError(f"repository {repo} is a file; choose a folder with -o")
    final = repo / name
    if (final.exists() or final.is_symlink()) and not options.force:
        raise OutputError(f"{final} already exists; pass --force to replace it, or choose another --name")
    if final.exists() and not final.is_dir():
        raise OutputError(f"{final} exists and is not a folder; remove it or choose another --name")
    ensure_writable_dir(repo)

    digest = sha256_file(source.path)
    version_dir = str(options.version)
    files = [f"{version_dir}/{source.filename}"] + [f"{version_dir}/{loc}" for loc in source.extra_files]
    triton_facts = {"artifact": files[0], "artifact_sha256": digest, "source_file": source.path.name,
                    "max_batch_size": max_batch}
    manifest = source.manifest.replace(extra={**source.manifest.extra, "triton": triton_facts})
    manifest_json = manifest.to_json()
    config_text = render_config(source, name, max_batch, delay, kind, options, manifest_json)

    replaced = final.exists()
    with atomic_dir(final, replace=options.force, mode=0o755) as staging:  # 0o755: Triton often runs as another user
        (staging / version_dir).mkdir()
        _copy(source.path, staging / version_dir / source.filename)
        for location in source.extra_files:  # safety.check_onnx_file proved each stays inside the folder
            target = staging / version_dir / location
            target.parent.mkdir(parents=True, exist_ok=True)
            _copy(source.path.parent / location, target)
        if sha256_file(staging / files[0]) != digest:
            raise OutputError(f"the copy of {source.path} does not match the original (changed while copying?)")
        (staging / MANIFEST_FILE).write_text(manifest.to_json(indent=2) + "\n", encoding="utf-8")
        (staging / CONFIG_FILE).write_text(config_text, encoding="utf-8")
    return TritonResult(repository=repo, name=name, model_dir=final, platform=source.platform, max_batch=max_batch,
                        config_text=config_text, files=[CONFIG_FILE, MANIFEST_FILE, *files], replaced=replaced,
                        sha256=digest, manifest=manifest)


def _copy(src: Path, dst: Path) -> None:
    shutil.copyfile(src, dst)
    os.chmod(dst, 0o644)


__all__ = ["TritonOptions", "TritonResult", "ModelSource", "read_source", "resolve_options", "write_repository",
           "check_name"]
