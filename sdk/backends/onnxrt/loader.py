"""Loading an ONNX file for onnxruntime: the one session factory, providers, and the I/O check.

Settings measured on a 2-core CPU (dcgan-32, mlp-16; see ``ganedge.bench.micro``): graph
optimization ALL; ``intra_op_num_threads`` = the cores this process may use (onnxruntime's own
default counts the machine's cores, which oversubscribes a container pinned to fewer); one
inter-op thread and sequential execution (a generator is a chain: parallel execution only adds
scheduling). Outputs are identical at every batch size and thread count, which is what makes
``sample(1, seed=5)[0] == sample(10, seed=0)[5]`` hold bit for bit.

:func:`create_session` is the only place an ``InferenceSession`` is built: the SDK's runner and
export's validation gate both come through it, so the gate grades the model as the SDK runs it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ganedge.artifacts.manifest import ONNX_METADATA_KEY, Manifest
from ganedge.artifacts.onnx_meta import manifest_from_metadata
from ganedge.cpu import machine_busy, usable_cores
from ganedge.errors import ArtifactError, BackendUnavailableError, BadInputError, OutputError
from ganedge.extras import require
from ganedge.sdk.backends.graph_io import GraphArg, IoSpec, check_graph_io

GPU_HINT = "pip install 'ganedge[gpu]' (onnxruntime-gpu; uninstall onnxruntime first)"
PROVIDERS = ("auto", "cpu", "cuda", "tensorrt")
EXECUTION_PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider",
                       "tensorrt": "TensorrtExecutionProvider"}
NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int64)": np.int64,
               "tensor(int32)": np.int32}
SPIN_KEY = "session.intra_op.allow_spinning"


def import_onnxruntime():
    """``import onnxruntime``, or a MissingExtraError naming the extra (``cpu``, or ``gpu``)."""
    return require("onnxruntime", "the onnxruntime backend")


def choose_spinning(threads: int) -> bool:
    """Whether idle intra-op threads spin between calls (onnxruntime's default) or sleep.

    Measured on a 2-core CPU, both ways matter. Quiet machine, 16x16 DCGAN: spinning made
    ``sample(1)`` 0.42 ms instead of 0.60 and ``sample(64)`` 12.0 ms instead of 20.0. Busy
    machine (load ~6), dcgan-32: spinning *halved* throughput (batch 1 p50 9.2 -> 19.7 ms), as a
    spinning thread burns the time slice another thread needs. So spin unless other tasks are
    already running on half the cores when the model is loaded (:func:`ganedge.cpu.machine_busy`);
    ``session_config={SPIN_KEY: "0"/"1"}`` decides for sure.
    """
    if threads <= 1:
        return False  # one thread: the caller's thread does the work, there is no pool to spin
    return not machine_busy()


def check_threads(threads: Any) -> int:
    """``threads`` as given (a positive int), or the cores this process may use."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise BadInputError(f"threads must be a positive integer, got {threads!r}")
    return threads or usable_cores()


def session_options(ort, threads: int, graph_optimization: str = "all",
                    session_config: dict[str, str] | None = None):
    """(SessionOptions, spinning) as the SDK sets a session up: graph optimization, ``threads``
    intra-op threads, one inter-op thread, sequential execution, spinning as :func:`choose_spinning`
    says unless ``session_config`` sets it."""
    options = ort.SessionOptions()
    levels = {"all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL, "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
              "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
              "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL}
    if graph_optimization not in levels:
        raise BadInputError(f"graph_optimization must be one of {', '.join(levels)}")
    options.graph_optimization_level = levels[graph_optimization]
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only: ORT's warnings are about its internals, not the user's model
    config = {str(k): str(v) for k, v in (session_config or {}).items()}
    if SPIN_KEY not in config:
        config[SPIN_KEY] = "1" if choose_spinning(threads) else "0"
    for key, value in config.items():
        options.add_session_config_entry(key, value)
    return options, config[SPIN_KEY] == "1"


@dataclass
class Session:
    """An onnxruntime session and how it was set up."""

    session: Any
    threads: int
    spinning: bool


def create_session(source, *, threads: int | None = None, graph_optimization: str = "all",
                   session_config: dict[str, str] | None = None, providers: list | None = None) -> Session:
    """An InferenceSession for a path, serialized bytes or an ``onnx.ModelProto`` (CPU unless
    ``providers`` says otherwise), set up by :func:`session_options`."""
    ort = import_onnxruntime()
    threads = check_threads(threads)
    options, spinning = session_options(ort, threads, graph_optimization, session_config)
    if hasattr(source, "SerializeToString"):
        source = source.SerializeToString()
    elif not isinstance(source, (bytes, bytearray)):
        source = os.fspath(source)
    try:
        session = ort.InferenceSession(source, sess_options=options, providers=providers or ["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = source if isinstance(source, str) else "the model"
        raise ArtifactError(f"onnxruntime cannot load {where}: {first}") from None
    return Session(session, threads, spinning)


def parse_device(device: str) -> tuple[str, int]:
    """"cpu" -> ("cpu", 0); "cuda" -> ("cuda", 0); "cuda:1" -> ("cuda", 1)."""
    text = str(device).strip().lower()
    kind, _, index = text.partition(":")
    if kind == "cpu" and not index:
        return "cpu", 0
    if kind == "cuda" and (not index or index.isdigit()):
        return "cuda", int(index or 0)
    raise BadInputError(f"device {device!r} is not one of auto, cpu, cuda, cuda:N")


def read_session_manifest(session, path: Path) -> Manifest | None:
    """The manifest in the session's metadata_props, None if the file has none."""
    return manifest_from_metadata(session.get_modelmeta().custom_metadata_map, where=path.name)


def _graph_args(args) -> list[GraphArg]:
    return [GraphArg(arg.name, tuple(d if isinstance(d, int) and d >= 0 else None for d in arg.shape),
                     NUMPY_TYPES.get(arg.type), arg.type) for arg in args]


def check_io(session, manifest: Manifest, path: Path) -> IoSpec:
    """Check the manifest against the session's inputs and output (:func:`..graph_io.check_graph_io`)."""
    return check_graph_io(_graph_args(session.get_inputs()), _graph_args(session.get_outputs()), manifest, path)


def gpu_providers(ort, path: Path, provider: str, device_id: int, trt_fp16: bool,
                  trt_profile: tuple[int, int, int], trt_cache_dir) -> list:
    """The provider list for onnxruntime-gpu: CUDA, or TensorRT with CUDA and the CPU behind it."""
    available = ort.get_available_providers()
    if EXECUTION_PROVIDERS[provider] not in available:
        raise BackendUnavailableError(
            f"this onnxruntime has no {EXECUTION_PROVIDERS[provider]} (it offers {', '.join(available)}): {GPU_HINT}")
    cuda = ("CUDAExecutionProvider", {"device_id": device_id})
    if provider == "cuda":
        return [cuda, "CPUExecutionProvider"]
    lo, opt, hi = (int(v) for v in trt_profile)
    if not 1 <= lo <= opt <= hi:
        raise BadInputError(f"trt_profile must be (min, opt, max) batch sizes with 1 <= min <= opt <= max, got {trt_profile}")
    # Engines are cached beside the model (first load builds them: minutes; later loads: seconds).
    cache = Path(trt_cache_dir) if trt_cache_dir else path.with_name(path.name + ".trt-cache")
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the TensorRT engine cache {cache} ({exc.strerror or exc}); "
                          "pass trt_cache_dir= a writable folder") from None
    trt = {"device_id": device_id, "trt_fp16_enable": bool(trt_fp16), "trt_engine_cache_enable": True,
           "trt_engine_cache_path": str(cache), "trt_timing_cache_enable": True, "trt_timing_cache_path": str(cache)}
    trt.update(_profile_shapes(path, lo, opt, hi))
    return [("TensorrtExecutionProvider", trt), cuda, "CPUExecutionProvider"]


def _profile_shapes(path: Path, lo: int, opt: int, hi: int) -> dict[str, str]:
    # Format "input:AxB,input2:C"; the manifest is not read yet, so take dims from the graph.
    probe = create_session(path, threads=1, graph_optimization="disable").session  # only its inputs are read

    def spec(n: int) -> str:
        return ",".join(f"{arg.name}:{'x'.join([str(n)] + [str(d) for d in arg.shape[1:]])}" for arg in probe.get_inputs())
    return {"trt_profile_min_shapes": spec(lo), "trt_profile_opt_shapes": spec(opt), "trt_profile_max_shapes": spec(hi)}


@dataclass
class LoadedSession:
    """A checked session for one ONNX file and what the runner needs to run it."""

    path: Path
    session: Any
    manifest: Manifest
    io: IoSpec
    device: str  # "cpu" or "cuda:N"
    device_id: int
    provider: str
    threads: int
    spinning: bool
    precision: str
    max_batch: int | None


def load_session(path: str | os.PathLike, manifest: Manifest | None = None, device: str = "cpu",
                 threads: int | None = None, *, provider: str = "auto", trt_fp16: bool = True,
                 trt_profile: tuple[int, int, int] = (1, 16, 64), trt_cache_dir: str | os.PathLike | None = None,
                 graph_optimization: str = "all", session_config: dict[str, str] | None = None) -> LoadedSession:
    """Open ``path`` on ``device`` with ``provider`` and check its manifest against the graph.

    ``manifest`` describes a foreign file that has none (or overrides the one inside)."""
    ort = import_onnxruntime()
    path = Path(path)
    kind, device_id = parse_device(device)
    if provider not in PROVIDERS:
        raise BadInputError(f"provider {provider!r} is not one of {', '.join(PROVIDERS)}")
    if provider == "auto":
        provider = "cpu" if kind == "cpu" else "cuda"
    if (provider == "cpu") != (kind == "cpu"):
        raise BadInputError(f"provider {provider!r} does not run on device {device!r}")
    check_threads(threads)
    providers = None if provider == "cpu" else gpu_providers(ort, path, provider, device_id, trt_fp16, trt_profile,
                                                              trt_cache_dir)
    made = create_session(path, threads=threads, graph_optimization=graph_optimization,
                          session_config=session_config, providers=providers)
    active = made.session.get_providers()
    if EXECUTION_PROVIDERS[provider] not in active:
        raise BackendUnavailableError(
            f"onnxruntime could not start {EXECUTION_PROVIDERS[provider]} (active: {', '.join(active)}); check the "
            f"CUDA/cuDNN{'/TensorRT' if provider == 'tensorrt' else ''} libraries, or use device='cpu'")
    found = read_session_manifest(made.session, path)
    if manifest is None and found is None:
        raise ArtifactError(
            f"{path} has no ganedge manifest (metadata_props key '{ONNX_METADATA_KEY}'), so it is not a "
            "ganedge export; export it with `ganedge export onnx`, or pass manifest=... describing a foreign model")
    manifest = manifest or found
    precision = "fp16" if provider == "tensorrt" and trt_fp16 else "fp32"
    if found is not None and found.precision in ("fp16", "bf16", "int8") and precision == "fp32":
        precision = found.precision
    return LoadedSession(path=path, session=made.session, manifest=manifest, io=check_io(made.session, manifest, path),
                         device="cpu" if kind == "cpu" else f"cuda:{device_id}", device_id=device_id,
                         provider=provider, threads=made.threads, spinning=made.spinning, precision=precision,
                         max_batch=int(trt_profile[2]) if provider == "tensorrt" else None)
