"""Loading an ONNX file for OpenVINO on the CPU: read, check, choose the precision, compile.

Everything happens here, before the first inference; :mod:`.runner` only runs what this returns.

Precision. OpenVINO's CPU plugin computes in bf16 by default on CPUs that execute it natively
(``INFERENCE_PRECISION_HINT`` reads ``bfloat16`` on an AVX512-BF16 or AMX machine), which would
change images silently; so the hint is always set: ``fp32`` (the default) computes in fp32,
``bf16`` in bf16 where the CPU executes it natively (AVX512-BF16 or AMX-BF16 in its flags *and*
BF16 in OpenVINO's ``OPTIMIZATION_CAPABILITIES``; elsewhere refused: emulated bf16 is slower than
fp32), ``auto`` takes bf16 where it is native and passes its gate, fp32 otherwise. int8 files
(our QDQ exports) run their quantized convolutions in int8 whatever the hint; the hint decides the
layers left in float.

The bf16 gate, as for every precision ganedge offers: images of 16 fixed seeds from the bf16
compile against the fp32 compile, PSNR >= 40 dB (the fp16 export gate's threshold). Below it the
model runs in fp32 and ``backend_info`` says why. The result is cached per model sha256, CPU
model and OpenVINO version (:mod:`ganedge.usercache`), so only the first load on a machine pays
for the second compile and the 32 images.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ganedge import usercache
from ganedge.artifacts.manifest import ONNX_METADATA_KEY, Manifest
from ganedge.artifacts.onnx_meta import manifest_from_metadata
from ganedge.artifacts.onnx_safety import check_onnx_file
from ganedge.cpu import usable_cores
from ganedge.cpu_features import cpu_features
from ganedge.errors import ArtifactError, BadInputError
from ganedge.extras import require
from ganedge.images import psnr, to_uint8_nhwc
from ganedge.latents import latents, seed_range
from ganedge.sdk.backends.base import run_fixed_batch
from ganedge.sdk.backends.graph_io import GraphArg, IoSpec, check_graph_io
from ganedge.sdk.labels import one_hot

log = logging.getLogger("ganedge.sdk")

PRECISIONS = ("fp32", "bf16", "auto")
PERFORMANCE_HINTS = ("latency", "throughput")
BF16_MIN_PSNR = 40.0  # dB against the fp32 compile, uint8 images (the fp16 export gate's threshold)
GATE_SEEDS = 16  # seeds 0..15, in one batch
_GATE_VERSION = 1  # bump when the gate's inputs or measure change, so old cache entries are not reused
_OV_TYPES = {"fp32": "f32", "bf16": "bf16"}


def import_openvino():
    """``import openvino``, or a MissingExtraError naming the ``openvino`` extra."""
    return require("openvino", "the openvino backend")


@functools.lru_cache(maxsize=1)
def shared_core():
    """One ``openvino.Core`` per process, as OpenVINO recommends (plugins load once, caches are shared)."""
    return import_openvino().Core()


def openvino_version() -> str:
    return import_openvino().__version__.split("-")[0]


@dataclass(frozen=True)
class CpuSupport:
    """What decided the precision: the CPU's flags and what OpenVINO's CPU plugin says it can do."""

    model: str
    flags: list[str]
    matrix_units: str
    openvino_capabilities: list[str]
    native_bf16: bool

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "flags": self.flags, "matrix_units": self.matrix_units,
                "openvino_capabilities": self.openvino_capabilities, "native_bf16": self.native_bf16}


def cpu_support() -> CpuSupport:
    features = cpu_features()
    caps = [str(c) for c in shared_core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")]
    return CpuSupport(model=features.model, flags=features.precision_flags, matrix_units=features.matrix_units(),
                      openvino_capabilities=caps, native_bf16=features.native_bf16 and "BF16" in caps)


def bf16_refusal(support: CpuSupport) -> str:
    return (f"precision='bf16' needs a CPU that executes bf16 natively (AVX512-BF16 or AMX-BF16); this "
            f"{support.model} has {support.matrix_units}: use precision='fp32' (or 'auto', which picks bf16 only "
            "where it is native)")


def read_graph(path: Path):
    """The ONNX file as an ``openvino.Model`` through the ONNX front end (whatever the file's suffix)."""
    import_openvino()
    from openvino.frontend import FrontEndManager

    try:
        frontend = FrontEndManager().load_by_framework("onnx")
        return frontend.convert(frontend.load(str(path)))
    except Exception as exc:  # OpenVINO raises RuntimeError/OpConversionFailure/GeneralFailure with long text
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ArtifactError(f"OpenVINO cannot read {path}: {first}") from None


def graph_args(ports) -> list[GraphArg]:
    args = []
    for port in ports:
        kind = port.get_element_type()
        try:
            dtype = np.dtype(kind.to_dtype()).type
        except (RuntimeError, TypeError):
            dtype = None
        shape = port.get_partial_shape()
        dims = tuple(d.get_length() if d.is_static else None for d in shape) if shape.rank.is_static else ()
        args.append(GraphArg(port.get_any_name(), dims, dtype, kind.get_type_name()))
    return args


def check_threads(threads: Any) -> int:
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise BadInputError(f"threads must be a positive integer, got {threads!r}")
    return threads or usable_cores()


def compile_graph(graph, precision: str, threads: int, performance_hint: str, config: dict[str, Any]):
    """Compile for the CPU with the precision hint always set (never OpenVINO's silent bf16 default)."""
    properties = {"INFERENCE_PRECISION_HINT": _OV_TYPES[precision], "PERFORMANCE_HINT": performance_hint.upper(),
                  "INFERENCE_NUM_THREADS": threads}
    properties.update(config)
    try:
        return shared_core().compile_model(graph, "CPU", properties)
    except Exception as exc:
        text = str(exc).strip().splitlines()
        raise ArtifactError(f"OpenVINO cannot compile the model for the CPU: {text[-1] if text else type(exc).__name__}"
                            ) from None


def compiled_precision(compiled) -> str:
    """The inference precision the compiled model really uses, as "fp32"/"bf16"/"fp16"."""
    name = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()  # "f32", "bf16", "f16"
    return {"f32": "fp32", "bf16": "bf16", "f16": "fp16"}.get(name, name)


def _gate_images(compiled, io: IoSpec, manifest: Manifest) -> np.ndarray:
    seeds = seed_range(0, GATE_SEEDS)
    feeds: dict[str, np.ndarray] = {io.z_name: latents(seeds, manifest.latent_dim).astype(io.z_type)}
    if io.label_name is not None:
        classes = np.arange(GATE_SEEDS) % manifest.num_classes
        labels = one_hot(classes, manifest.num_classes) if io.label_input == "onehot" else classes
        feeds[io.label_name] = labels.astype(io.label_type)
    request = compiled.create_infer_request()

    def run(z, labels):
        inputs = {io.z_name: z} if labels is None else {io.z_name: z, io.label_name: labels}
        return np.asarray(request.infer(inputs, share_outputs=False)[0], dtype=np.float32)

    z, labels = feeds[io.z_name], feeds.get(io.label_name) if io.label_name else None
    x = run_fixed_batch(run, z, labels, io.fixed_batch) if io.fixed_batch else run(z, labels)
    return to_uint8_nhwc(x, output_range=manifest.output_range)


@dataclass
class Bf16Gate:
    psnr_db: float
    min_psnr_db: float
    seeds: str
    cached: bool
    cache_file: str | None = None

    @property
    def passed(self) -> bool:
        return self.psnr_db >= self.min_psnr_db

    def to_dict(self) -> dict[str, Any]:
        return {"psnr_db": self.psnr_db if np.isfinite(self.psnr_db) else "inf", "min_psnr_db": self.min_psnr_db,
                "passed": self.passed, "seeds": self.seeds, "cached": self.cached, "cache_file": self.cache_file}


def gate_key(path: Path) -> dict[str, Any]:
    return {"sha256": usercache.file_sha256(path), "cpu": cpu_features().model, "openvino": openvino_version(),
            "gate": _GATE_VERSION, "seeds": GATE_SEEDS}


def cached_gate(path: Path) -> Bf16Gate | None:
    found = usercache.read("openvino-bf16-gate", gate_key(path))
    if not found or not isinstance(found.get("psnr_db"), (int, float, str)):
        return None
    return Bf16Gate(float(found["psnr_db"]), BF16_MIN_PSNR, f"0-{GATE_SEEDS - 1}", cached=True,
                    cache_file=str(usercache.entry_path("openvino-bf16-gate", gate_key(path))))


def measure_gate(path: Path, fp32_compiled, bf16_compiled, io: IoSpec, manifest: Manifest) -> Bf16Gate:
    value = psnr(_gate_images(fp32_compiled, io, manifest), _gate_images(bf16_compiled, io, manifest))
    written = usercache.write("openvino-bf16-gate", gate_key(path), {"psnr_db": value if np.isfinite(value) else "inf"})
    return Bf16Gate(value, BF16_MIN_PSNR, f"0-{GATE_SEEDS - 1}", cached=False,
                    cache_file=None if written is None else str(written))


@dataclass
class LoadedModel:
    """A compiled model for one ONNX file and what was decided on the way."""

    path: Path
    compiled: Any
    manifest: Manifest
    io: IoSpec
    threads: int
    performance_hint: str
    requested_precision: str
    inference_precision: str
    support: CpuSupport
    reason: str  # why this precision
    gate: Bf16Gate | None = None
    config: dict[str, Any] = field(default_factory=dict)


_compile_lock = threading.Lock()  # the gate's two compiles and the cache write: one model at a time


def load_model(path: str | os.PathLike, manifest: Manifest | None = None, device: str = "cpu",
               threads: int | None = None, *, precision: str = "fp32", performance_hint: str = "latency",
               config: dict[str, Any] | None = None) -> LoadedModel:
    """Read, check and compile ``path`` for OpenVINO's CPU plugin.

    ``precision``: "fp32" (default), "bf16" (native bf16 only, gated) or "auto" (bf16 where native
    and gated, else fp32). ``performance_hint``: "latency" (one stream with all ``threads``: what
    one caller at a time wants) or "throughput" (several streams, for many concurrent callers).
    ``config``: further OpenVINO CPU properties, passed through (they win over ours).
    """
    ov_device = str(device).strip().lower()
    if ov_device not in ("cpu", "auto"):
        raise BadInputError(f"the openvino backend runs on the CPU; got device={device!r} (use cpu)")
    if precision not in PRECISIONS:
        raise BadInputError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    if performance_hint not in PERFORMANCE_HINTS:
        raise BadInputError(f"performance_hint {performance_hint!r} is not one of {', '.join(PERFORMANCE_HINTS)}")
    if config is not None and not isinstance(config, dict):
        raise BadInputError(f"config= must be a dict of OpenVINO properties, got {type(config).__name__}")
    threads = check_threads(threads)
    path = Path(path)
    summary = check_onnx_file(path)
    import_openvino()
    support = cpu_support()
    if precision == "bf16" and not support.native_bf16:
        raise BadInputError(bf16_refusal(support))
    found = manifest_from_metadata(summary.metadata, where=path.name)
    if manifest is None and found is None:
        raise ArtifactError(
            f"{path} has no ganedge manifest (metadata_props key '{ONNX_METADATA_KEY}'), so it is not a "
            "ganedge export; export it with `ganedge export onnx`, or pass manifest=... describing a foreign model")
    manifest = manifest or found
    graph = read_graph(path)
    io = check_graph_io(graph_args(graph.inputs), graph_args(graph.outputs), manifest, path)
    with _compile_lock:
        compiled, gate, reason = _compile_for(path, graph, io, manifest, precision, support,
                                              threads, performance_hint, dict(config or {}))
    return LoadedModel(path=path, compiled=compiled, manifest=manifest, io=io, threads=threads,
                       performance_hint=performance_hint, requested_precision=precision,
                       inference_precision=compiled_precision(compiled), support=support, reason=reason, gate=gate,
                       config=dict(config or {}))


def _compile_for(path: Path, graph, io: IoSpec, manifest: Manifest, precision: str, support: CpuSupport,
                 threads: int, hint: str, config: dict[str, Any]):
    """(compiled model, bf16 gate or None, why this precision)."""
    def compile_as(p: str):
        return compile_graph(graph, p, threads, hint, config)

    if precision == "fp32":
        return compile_as("fp32"), None, "fp32: requested"
    if not support.native_bf16:  # precision auto on a CPU without native bf16
        return compile_as("fp32"), None, f"auto -> fp32: no native bf16 on this CPU ({support.matrix_units})"
    gate = cached_gate(path)
    if gate is None:
        fp32, bf16 = compile_as("fp32"), compile_as("bf16")
        gate = measure_gate(path, fp32, bf16, io, manifest)
        chosen = bf16 if gate.passed else fp32
    else:
        chosen = compile_as("bf16" if gate.passed else "fp32")
    measured = f"PSNR {gate.psnr_db:.1f} dB vs fp32 on seeds {gate.seeds}, gate {gate.min_psnr_db:g} dB"
    asked = "bf16: requested" if precision == "bf16" else "auto -> bf16"
    if gate.passed:
        return chosen, gate, f"{asked}, native on this CPU ({support.matrix_units}); {measured}"
    log.warning("ganedge.sdk: %s: bf16 failed its gate (%s); running fp32", path.name, measured)
    return chosen, gate, f"{precision} -> fp32: bf16 failed its gate ({measured})"
