"""``ganedge export trt``: ONNX -> TensorRT engine + sidecar, with the TensorRT Python API (10.x and 11.x).

Steps, each a small function: inspect the ONNX (manifest, batch dim, Q/DQ) -> parse the
profile -> route precision for the running TensorRT -> parse the ONNX into a network
(parser failures name every failing node) -> configure (flags, one batch profile, workspace,
timing cache) -> build -> write engine, sidecar and timing cache atomically.

tensorrt is imported inside the functions that need it, so importing this module is cheap.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganedge import __version__
from ganedge.errors import ArtifactError, BadInputError, GanEdgeError
from ganedge.fsutil import ensure_writable_dir, write_bytes_atomic
from ganedge.artifacts.manifest import Manifest
from ganedge.export.trt.onnx_info import OnnxInfo, inspect_onnx
from ganedge.export.trt.precision import BuildFlags, check_buildable, route_precision
from ganedge.artifacts.trt_profile import BatchProfile, parse_profile
from ganedge.sdk.backends.tensorrt.loader import import_tensorrt, make_logger, present_facts, trt_major
from ganedge.artifacts.trt_sidecar import make_sidecar, write_sidecar

WRITABLE_SUFFIXES = (".engine", ".plan")  # names we write; sdk.load also reads .trt
MAX_LISTED_FAILURES = 8


class OnnxParseError(ArtifactError):
    """TensorRT's ONNX parser rejected nodes of the graph."""


class EngineBuildError(GanEdgeError):
    """TensorRT ran the build and it failed (out of memory, no tactic, ...)."""

    exit_code = 1


@dataclass(frozen=True)
class BuildOptions:
    batch: str | None = None  # "MIN:OPT:MAX" or "N"; None = default (or the ONNX's fixed batch)
    timing_cache: Path | None = None  # loaded if it exists, saved after the build
    version_compatible: bool = False
    workspace_mb: int | None = None  # TensorRT's workspace pool limit; None = TensorRT's default (all of the GPU)
    strongly_typed: bool = False  # TensorRT 10: strongly typed network (11.x always is)
    tf32: bool = False
    opt_level: int | None = None  # builder_optimization_level 0..5; None = TensorRT's default (3)
    verbose: bool = False


@dataclass
class BuildResult:
    engine_path: Path
    sidecar_path: Path
    sidecar: Manifest
    seconds: float
    engine_bytes: int
    timing_cache: str = "not used"
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"engine": str(self.engine_path), "sidecar": str(self.sidecar_path), "seconds": round(self.seconds, 2),
                "engine_bytes": self.engine_bytes, "timing_cache": self.timing_cache, "warnings": self.warnings,
                "manifest": self.sidecar.to_dict()}


@dataclass(frozen=True)
class ParserFailure:
    node: int  # index of the ONNX node, -1 when the error is not about one node
    op_type: str
    name: str
    message: str


def describe_parser_failures(failures: list[ParserFailure], onnx_name: str) -> str:
    """One line naming every failing node: index, op type, name and TensorRT's message."""
    parts = []
    for f in failures[:MAX_LISTED_FAILURES]:
        message = " ".join(f.message.split())
        if len(message) > 240:
            message = message[:237] + "..."
        where = f"node {f.node}" if f.node >= 0 else "graph"
        what = " ".join(x for x in (f.op_type, repr(f.name) if f.name else "") if x)
        parts.append(f"{where}{' ' + what if what else ''}: {message}")
    more = len(failures) - MAX_LISTED_FAILURES
    listed = "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
    nodes = {f.node for f in failures if f.node >= 0}
    count = f"{len(nodes)} node(s) failed" if nodes else f"{len(failures)} error(s)"
    return (f"TensorRT cannot parse {onnx_name}: {count} — {listed}. "
            f"Check the graph with `ganedge inspect {onnx_name}` (TensorRT lint) or re-export it with `ganedge export onnx`")


def _parser_failures(parser) -> list[ParserFailure]:
    def get(err, attr, default):
        fn = getattr(err, attr, None)  # node_name/node_operator exist from TensorRT 8.6 on
        try:
            return fn() if callable(fn) else default
        except Exception:  # a binding that cannot answer must not hide the real parse error
            return default

    failures = []
    for i in range(parser.num_errors):
        err = parser.get_error(i)
        failures.append(ParserFailure(node=int(get(err, "node", -1)), op_type=str(get(err, "node_operator", "") or ""),
                                      name=str(get(err, "node_name", "") or ""), message=str(get(err, "desc", err))))
    return failures


def _check_paths(onnx_path: Path, engine_path: Path, options: BuildOptions) -> None:
    if engine_path.suffix.lower() not in WRITABLE_SUFFIXES:
        raise BadInputError(f"-o {engine_path.name}: an engine file must end in .engine or .plan "
                            "(sdk.load picks the TensorRT backend by that suffix)")
    if engine_path.resolve() == onnx_path.resolve():
        raise BadInputError("-o must differ from the input ONNX file")
    if engine_path.is_dir():
        raise BadInputError(f"-o {engine_path} is a folder; give a file name such as model.engine")
    ensure_writable_dir(engine_path.parent if str(engine_path.parent) else ".")
    cache = options.timing_cache
    if cache is not None:
        if cache.is_dir():
            raise BadInputError(f"--timing-cache {cache} is a folder; give a file name such as trt.cache")
        ensure_writable_dir(cache.parent if str(cache.parent) else ".")
    if options.workspace_mb is not None and options.workspace_mb < 1:
        raise BadInputError("--workspace must be at least 1 MB")
    if options.opt_level is not None and not 0 <= options.opt_level <= 5:
        raise BadInputError("--opt-level must be between 0 and 5")


def _parse_network(trt, builder, logger, info: OnnxInfo, flags: BuildFlags):
    creation = 0
    if flags.strongly_typed:
        strongly = getattr(getattr(trt, "NetworkDefinitionCreationFlag", None), "STRONGLY_TYPED", None)
        if strongly is not None:  # 11.x may drop the flag: every network is strongly typed there
            creation |= 1 << int(strongly)
    network = builder.create_network(creation)
    parser = trt.OnnxParser(network, logger)
    # parse_from_file (not parse(bytes)) so weights stored as ONNX external data are found beside the file.
    ok = parser.parse_from_file(str(info.path))
    failures = _parser_failures(parser)
    if not ok or failures:
        if not failures:
            failures = [ParserFailure(-1, "", "", "; ".join(logger.errors) or "the parser returned False")]
        raise OnnxParseError(describe_parser_failures(failures, info.path.name))
    return network, parser


def _add_profile(trt, builder, config, network, profile: BatchProfile) -> dict[str, str]:
    """One optimization profile over dim 0 of every input; returns {tensor name: dtype} of the I/O."""
    io: dict[str, str] = {}
    dynamic_inputs = []
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        shape = tuple(tensor.shape)  # e.g. (-1, 128) for z, (-1,) for labels
        io[tensor.name] = getattr(tensor.dtype, "name", str(tensor.dtype))
        if any(d < 0 for d in shape[1:]):
            raise ArtifactError(f"input {tensor.name!r} has dynamic non-batch dims {shape}; only the batch may vary")
        if shape and shape[0] < 0:
            dynamic_inputs.append((tensor.name, shape[1:]))
    for i in range(network.num_outputs):
        tensor = network.get_output(i)
        io[tensor.name] = getattr(tensor.dtype, "name", str(tensor.dtype))
    if dynamic_inputs:
        opt_profile = builder.create_optimization_profile()
        for name, rest in dynamic_inputs:
            opt_profile.set_shape(name, (profile.min, *rest), (profile.opt, *rest), (profile.max, *rest))
        if config.add_optimization_profile(opt_profile) < 0:
            raise EngineBuildError(f"TensorRT rejected the batch profile {profile}")
    return io


def _attach_timing_cache(config, path: Path | None, warnings: list[str]) -> str:
    data = b""
    status = "new"
    if path is not None and path.is_file():
        data = path.read_bytes()
        status = f"loaded {path}"
    cache = None
    try:
        cache = config.create_timing_cache(data)
    except Exception:  # a damaged file must not stop the build; it only costs build time
        cache = None
    if cache is None:
        warnings.append(f"timing cache {path} is unreadable; starting a new one")
        cache, status = config.create_timing_cache(b""), "new (old file unreadable)"
    if not config.set_timing_cache(cache, ignore_mismatch=False):
        warnings.append(f"timing cache {path} was made on another GPU or TensorRT version; starting a new one")
        cache, status = config.create_timing_cache(b""), "new (old file from another device/version)"
        config.set_timing_cache(cache, ignore_mismatch=False)
    return status


def _configure(trt, config, flags: BuildFlags, options: BuildOptions) -> list[str]:
    used: list[str] = []
    for name in flags.set_flags:
        flag = getattr(trt.BuilderFlag, name, None)
        if flag is None:
            raise EngineBuildError(f"this TensorRT ({trt.__version__}) has no BuilderFlag.{name}; "
                                   "use an ONNX exported in the precision you want")
        config.set_flag(flag)
        used.append(name)
    for name in flags.clear_flags:
        flag = getattr(trt.BuilderFlag, name, None)
        if flag is not None:
            config.clear_flag(flag)
    if options.version_compatible:
        config.set_flag(trt.BuilderFlag.VERSION_COMPATIBLE)
        used.append("VERSION_COMPATIBLE")
    if options.workspace_mb is not None:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(options.workspace_mb) << 20)
    if options.opt_level is not None:
        config.builder_optimization_level = int(options.opt_level)
    return used


def _serialize(builder, network, config, logger, what: str) -> bytes:
    """The built engine's bytes, or an EngineBuildError with TensorRT's last errors."""
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        detail = "; ".join(" ".join(e.split()) for e in logger.errors[-3:]) or "no message from TensorRT"
        raise EngineBuildError(f"TensorRT could not build {what}: {detail} "
                               "(try --workspace with more memory, a smaller --batch MAX, or --verbose)")
    return bytes(memoryview(serialized))


def build_engine(onnx_path: str | Path, engine_path: str | Path, options: BuildOptions | None = None) -> BuildResult:
    """Build ``engine_path`` (+ ``<engine>.json``) from a ganedge ONNX export. Needs TensorRT and a CUDA GPU."""
    options = options or BuildOptions()
    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    info = inspect_onnx(onnx_path)  # also checks the file exists and carries a manifest
    profile = parse_profile(options.batch, info.static_batch)
    check_buildable(info.manifest.precision, info.has_qdq)
    _check_paths(onnx_path, engine_path, options)

    trt = import_tensorrt()
    major = trt_major(trt.__version__)
    flags = route_precision(major, info.manifest.precision, info.has_qdq,
                            strongly_typed=options.strongly_typed, tf32=options.tf32)
    facts = present_facts(trt.__version__)  # the GPU the build runs on (device 0, as TensorRT uses)

    started = time.perf_counter()
    logger = make_logger(trt, options.verbose)
    builder = trt.Builder(logger)
    network, _parser = _parse_network(trt, builder, logger, info, flags)  # the parser must outlive the build
    config = builder.create_builder_config()
    warnings: list[str] = []
    builder_flags = _configure(trt, config, flags, options)
    io = _add_profile(trt, builder, config, network, profile)
    cache_status = _attach_timing_cache(config, options.timing_cache, warnings) if options.timing_cache else "not used"

    engine_bytes = _serialize(builder, network, config, logger, f"{engine_path.name} from {onnx_path.name}")
    seconds = time.perf_counter() - started

    if options.timing_cache is not None:
        write_bytes_atomic(options.timing_cache, bytes(memoryview(config.get_timing_cache().serialize())))
        cache_status += f"; saved {options.timing_cache}"

    sidecar = make_sidecar(
        info.manifest,
        tensorrt_version=str(trt.__version__),
        gpu_name=facts.gpu_name,
        compute_capability=facts.compute_capability,
        profile=profile.to_dict(),
        onnx_sha256=info.sha256,
        onnx_file=onnx_path.name,
        engine_sha256=hashlib.sha256(engine_bytes).hexdigest(),
        version_compatible=bool(options.version_compatible),
        strongly_typed=flags.strongly_typed or major >= 11,
        builder_flags=builder_flags,
        tf32=bool(options.tf32),
        engine_io=io,
        build_seconds=round(seconds, 2),
        built_by=f"ganedge {__version__}",
    )
    # Engine first, then its sidecar: a crash in between leaves an engine that load() refuses for
    # lacking a sidecar (or one whose sha256 no longer matches), never a silently wrong pair.
    write_bytes_atomic(engine_path, engine_bytes)
    side = write_sidecar(engine_path, sidecar)
    warnings.extend(logger.warnings[-5:] if options.verbose else [])
    return BuildResult(engine_path=engine_path, sidecar_path=side, sidecar=sidecar, seconds=seconds,
                       engine_bytes=len(engine_bytes), timing_cache=cache_status, warnings=warnings)


__all__ = ["BuildOptions", "BuildResult", "build_engine", "describe_parser_failures", "ParserFailure",
           "OnnxParseError", "EngineBuildError", "WRITABLE_SUFFIXES"]
