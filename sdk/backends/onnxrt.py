"""onnxruntime backend: CPU, and CUDA / TensorRT execution providers with onnxruntime-gpu.

Settings measured on a 2-core CPU (dcgan-32, mlp-16; see ``ganedge.bench.micro``):
graph optimization ALL; ``intra_op_num_threads`` = the cores this process may use (ORT's own
default counts the machine's cores, which oversubscribes a container pinned to fewer);
one inter-op thread and sequential execution (a generator is a chain: parallel execution only
adds scheduling). Outputs are identical at every batch size and thread count, which is what
makes ``sample(1, seed=5)[0] == sample(10, seed=0)[5]`` hold bit for bit.

Buffers. On the CPU, ``session.run`` already draws its output from ORT's arena; binding a
reused output buffer through IO binding measured no faster (mlp-16 batch 64: 0.37 vs 0.34 ms;
dcgan-32/64: equal within noise), so the CPU path stays the plain call and converts its
output to uint8 in place. On CUDA, IO binding keeps device buffers per batch size and thread,
so the only copies are z in and the float image out. ``run`` (``generate``) returns a fresh
array, since the caller keeps it.

Thread safety: ``InferenceSession.run*`` may be called from many threads at once; IO bindings
and buffers are per thread (``threading.local``), so nothing mutable is shared.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from ganedge.errors import ArtifactError, BackendUnavailableError, BadInputError, ClosedError, OutputError
from ganedge.images import to_uint8_nhwc
from ganedge.manifest import ONNX_METADATA_KEY, Manifest
from ganedge.sdk.backends.base import Runner, check_finite


CPU_HINT = "pip install 'ganedge[cpu]'"
GPU_HINT = "pip install 'ganedge[gpu]' (onnxruntime-gpu; uninstall onnxruntime first)"
PROVIDERS = ("auto", "cpu", "cuda", "tensorrt")
_EP = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}
_NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int64)": np.int64,
                "tensor(int32)": np.int32}
_CUDA_SLOTS_PER_THREAD = 8  # device buffer sets kept per thread, one per recent batch size


def import_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise BackendUnavailableError(f"the onnxruntime backend needs onnxruntime: {CPU_HINT} "
                                      f"(or {GPU_HINT})") from None
    return onnxruntime


def usable_cores() -> int:
    """Cores this process may run on (respects taskset/cgroup cpusets, unlike os.cpu_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


SPIN_KEY = "session.intra_op.allow_spinning"
SPIN_MAX_BUSY_SHARE = 0.5  # other runnable tasks per usable core at or above which threads sleep


def _own_running_threads() -> int:
    """Threads of this process in state R (running or runnable), this one included."""
    count = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 1
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/stat", encoding="ascii", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue  # the thread ended meanwhile
        count += stat[stat.rindex(")") + 2:][:1] == "R"  # the state follows the (command name)
    return max(1, count)


def runnable_others() -> int | None:
    """Threads of *other* processes that are runnable right now: /proc/loadavg's running count
    minus this process's own running threads (torch's OpenMP workers still spinning after a
    training step count as ours), the least of three looks 1 ms apart (one look can catch a
    passing task). None where there is no /proc. Unlike the load average it carries no history,
    so the CPU this very process just spent (training before export, say) does not count."""
    counts = []
    for look in range(3):
        try:
            with open("/proc/loadavg", encoding="ascii") as handle:
                running = int(handle.read().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return None
        counts.append(max(0, running - _own_running_threads()))
        if look < 2:
            time.sleep(0.001)
    return min(counts)


def choose_spinning(threads: int) -> bool:
    """Whether idle intra-op threads spin between calls (onnxruntime's default) or sleep.

    Measured on a 2-core CPU, both ways matter. Quiet machine, 16x16 DCGAN: spinning made
    ``sample(1)`` 0.42 ms instead of 0.60 and ``sample(64)`` 12.0 ms instead of 20.0. Busy
    machine (load ~6), dcgan-32: spinning *halved* throughput (batch 1 p50 9.2 -> 19.7 ms), as a
    spinning thread burns the time slice another thread needs. So spin unless other tasks are
    already running on half the cores when the model is loaded; ``session_config={SPIN_KEY:
    "0"/"1"}`` decides for sure.
    """
    if threads <= 1:
        return False  # one thread: the caller's thread does the work, there is no pool to spin
    busy = runnable_others()
    if busy is None:  # no /proc: the 1-minute load average, else onnxruntime's default
        try:
            busy = os.getloadavg()[0]
        except (OSError, AttributeError):
            return True
    return busy < SPIN_MAX_BUSY_SHARE * usable_cores()


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


def parse_device(device: str) -> tuple[str, int]:
    """"cpu" -> ("cpu", 0); "cuda" -> ("cuda", 0); "cuda:1" -> ("cuda", 1)."""
    text = str(device).strip().lower()
    kind, _, index = text.partition(":")
    if kind == "cpu" and not index:
        return "cpu", 0
    if kind == "cuda" and (not index or index.isdigit()):
        return "cuda", int(index or 0)
    raise BadInputError(f"device {device!r} is not one of auto, cpu, cuda, cuda:N")


def read_onnx_manifest(session, path: Path) -> Manifest | None:
    """The manifest in the session's metadata_props, None if the file has none."""
    text = session.get_modelmeta().custom_metadata_map.get(ONNX_METADATA_KEY)
    return None if text is None else Manifest.from_json(text, where=f"{path.name} metadata '{ONNX_METADATA_KEY}'")


class OnnxRuntimeRunner(Runner):
    name = "onnxruntime"

    def __init__(self, path: str | os.PathLike, manifest: Manifest | None = None, device: str = "cpu",
                 threads: int | None = None, *, provider: str = "auto", trt_fp16: bool = True,
                 trt_profile: tuple[int, int, int] = (1, 16, 64), trt_cache_dir: str | os.PathLike | None = None,
                 graph_optimization: str = "all", session_config: dict[str, str] | None = None):
        ort = import_onnxruntime()
        self.path = Path(path)
        kind, self._device_id = parse_device(device)
        if provider not in PROVIDERS:
            raise BadInputError(f"provider {provider!r} is not one of {', '.join(PROVIDERS)}")
        if provider == "auto":
            provider = "cpu" if kind == "cpu" else "cuda"
        if (provider == "cpu") != (kind == "cpu"):
            raise BadInputError(f"provider {provider!r} does not run on device {device!r}")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise BadInputError(f"threads must be a positive integer, got {threads!r}")
        self.threads = threads or usable_cores()
        self.provider = provider

        options, self.spinning = session_options(ort, self.threads, graph_optimization, session_config)

        providers = self._providers(ort, provider, trt_fp16, trt_profile, trt_cache_dir)
        try:
            self._session = ort.InferenceSession(str(self.path), sess_options=options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ArtifactError(f"onnxruntime cannot load {self.path}: {first}") from None
        active = self._session.get_providers()
        if _EP[provider] not in active:
            raise BackendUnavailableError(
                f"onnxruntime could not start {_EP[provider]} (active: {', '.join(active)}); check the CUDA/cuDNN"
                f"{'/TensorRT' if provider == 'tensorrt' else ''} libraries, or use device='cpu'")
        self.device = "cpu" if kind == "cpu" else f"cuda:{self._device_id}"
        self.precision = "fp16" if provider == "tensorrt" and trt_fp16 else "fp32"
        if provider == "tensorrt":
            self.max_batch = int(trt_profile[2])

        found = read_onnx_manifest(self._session, self.path)
        if manifest is None and found is None:
            raise ArtifactError(
                f"{self.path} has no ganedge manifest (metadata_props key '{ONNX_METADATA_KEY}'), so it is not a "
                "ganedge export; export it with `ganedge export onnx`, or pass manifest=... describing a foreign model")
        super().__init__(manifest or found)
        if found is not None and found.precision in ("fp16", "bf16", "int8") and self.precision == "fp32":
            self.precision = found.precision
        self._bind_names()
        self._local = threading.local()
        self._closed = False

    # --- setup -------------------------------------------------------------------------------

    def _providers(self, ort, provider, trt_fp16, trt_profile, trt_cache_dir) -> list:
        if provider == "cpu":
            return ["CPUExecutionProvider"]
        available = ort.get_available_providers()
        if _EP[provider] not in available:
            raise BackendUnavailableError(
                f"this onnxruntime has no {_EP[provider]} (it offers {', '.join(available)}): {GPU_HINT}")
        cuda = ("CUDAExecutionProvider", {"device_id": self._device_id})
        if provider == "cuda":
            return [cuda, "CPUExecutionProvider"]
        lo, opt, hi = (int(v) for v in trt_profile)
        if not 1 <= lo <= opt <= hi:
            raise BadInputError(f"trt_profile must be (min, opt, max) batch sizes with 1 <= min <= opt <= max, got {trt_profile}")
        # Engines are cached beside the model (first load builds them: minutes; later loads: seconds).
        cache = Path(trt_cache_dir) if trt_cache_dir else self.path.with_name(self.path.name + ".trt-cache")
        try:
            cache.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create the TensorRT engine cache {cache} ({exc.strerror or exc}); "
                              "pass trt_cache_dir= a writable folder") from None
        trt = {
            "device_id": self._device_id,
            "trt_fp16_enable": bool(trt_fp16),
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(cache),
            "trt_timing_cache_enable": True,
            "trt_timing_cache_path": str(cache),
        }
        trt.update(self._profile_shapes(lo, opt, hi))
        return [("TensorrtExecutionProvider", trt), cuda, "CPUExecutionProvider"]

    def _profile_shapes(self, lo: int, opt: int, hi: int) -> dict[str, str]:
        # Format "input:AxB,input2:C"; the manifest is not read yet, so take dims from the graph.
        import onnxruntime as ort

        quick = ort.SessionOptions()
        quick.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # only its inputs are read
        probe = ort.InferenceSession(str(self.path), sess_options=quick, providers=["CPUExecutionProvider"])

        def spec(n: int) -> str:
            parts = []
            for arg in probe.get_inputs():
                dims = [str(n)] + [str(d) for d in arg.shape[1:]]
                parts.append(f"{arg.name}:{'x'.join(dims)}")
            return ",".join(parts)
        return {"trt_profile_min_shapes": spec(lo), "trt_profile_opt_shapes": spec(opt), "trt_profile_max_shapes": spec(hi)}

    def _bind_names(self) -> None:
        """Check the manifest against the graph's inputs and output; remember names and dtypes."""
        m = self.manifest
        inputs = {arg.name: arg for arg in self._session.get_inputs()}
        outputs = {arg.name: arg for arg in self._session.get_outputs()}
        where = f"{self.path.name}: the manifest does not match the graph"
        wanted = list(m.inputs[:2] if m.conditional else m.inputs[:1])
        if len(wanted) != (2 if m.conditional else 1) or sorted(wanted) != sorted(inputs):
            raise ArtifactError(f"{where} (manifest inputs {list(m.inputs)}, num_classes {m.num_classes}; "
                                f"graph inputs {sorted(inputs)})")
        if m.output not in outputs:
            raise ArtifactError(f"{where} (manifest output {m.output!r}; graph outputs {sorted(outputs)})")
        z, out = inputs[wanted[0]], outputs[m.output]
        z_ok = len(z.shape) == 2 and (z.shape[1] == m.latent_dim or not isinstance(z.shape[1], int))
        if z.type not in ("tensor(float)", "tensor(float16)") or not z_ok:
            raise ArtifactError(f"{where} (input {z.name!r} is {z.type} {z.shape}; expected float (n, {m.latent_dim}))")
        static = [d for d in out.shape[1:] if isinstance(d, int)]
        if len(out.shape) != 4 or (len(static) == 3 and tuple(static) != tuple(m.image_shape)) \
                or out.type not in ("tensor(float)", "tensor(float16)"):
            raise ArtifactError(f"{where} (output {out.name!r} is {out.type} {out.shape}; "
                                f"expected float (n, {', '.join(map(str, m.image_shape))}))")
        self._z_name, self._z_type = z.name, _NUMPY_TYPES[z.type]
        self._out_name, self._out_type = out.name, _NUMPY_TYPES[out.type]
        self._label_name, self._label_type = None, None
        if m.conditional:
            label = inputs[wanted[1]]
            if label.type not in ("tensor(int64)", "tensor(int32)"):
                raise ArtifactError(f"{where} (label input {label.name!r} is {label.type}; expected int64)")
            self._label_name, self._label_type = label.name, _NUMPY_TYPES[label.type]

    # --- running -----------------------------------------------------------------------------

    def _session_or_raise(self):
        session = self._session
        if session is None:
            raise ClosedError(f"the onnxruntime session for {self.path.name} was closed")
        return session

    def _feeds(self, z: np.ndarray, labels: np.ndarray | None) -> dict[str, np.ndarray]:
        feeds = {self._z_name: z if z.dtype == self._z_type else z.astype(self._z_type)}
        if self._label_name is not None:
            feeds[self._label_name] = np.ascontiguousarray(labels, dtype=self._label_type)
        return feeds

    def run(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        out = self._session_or_raise().run([self._out_name], self._feeds(z, labels))[0]  # (n, C, H, W)
        return out if out.dtype == np.float32 else out.astype(np.float32)

    def run_uint8(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        session = self._session_or_raise()
        if self.device == "cpu":
            x = session.run([self._out_name], self._feeds(z, labels))[0]  # (n, C, H, W), ours to overwrite
        else:
            x = self._run_cuda(session, z, labels)
        check_finite(x)
        if x.dtype != np.float32:
            x = x.astype(np.float32)
        return to_uint8_nhwc(x, inplace=True)  # (n, C, H, W) float -> (n, H, W, C) uint8, scribbling on x

    def _run_cuda(self, session, z: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        import onnxruntime as ort

        n = z.shape[0]
        slots = getattr(self._local, "cuda", None)
        if slots is None:
            slots = self._local.cuda = OrderedDict()
        slot = slots.get(n)
        if slot is None:
            # Device buffers for this batch size, bound once; later calls only copy into them.
            def device_value(shape, dtype):
                return ort.OrtValue.ortvalue_from_shape_and_type(list(shape), dtype, "cuda", self._device_id)

            values = {self._z_name: device_value((n, self.manifest.latent_dim), self._z_type)}
            if self._label_name is not None:
                values[self._label_name] = device_value((n,), self._label_type)
            output = device_value((n, *self.manifest.image_shape), self._out_type)
            binding = session.io_binding()
            for name, value in values.items():
                binding.bind_ortvalue_input(name, value)
            binding.bind_ortvalue_output(self._out_name, output)
            slot = slots[n] = (values, output, binding)
            while len(slots) > _CUDA_SLOTS_PER_THREAD:
                slots.popitem(last=False)
        slots.move_to_end(n)
        values, output, binding = slot
        for name, array in self._feeds(z, labels).items():
            values[name].update_inplace(np.ascontiguousarray(array))  # host -> device
        session.run_with_iobinding(binding)
        return output.numpy()  # device -> host: a fresh (n, C, H, W) array

    # --- bookkeeping -------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        session = self._session
        info.update(model=str(self.path), provider=self.provider, threads=self.threads, spinning=self.spinning,
                    providers=session.get_providers() if session is not None else [])
        if self.max_batch:
            info["max_batch"] = self.max_batch
        return info

    def close(self) -> None:
        # Calls already running hold their own reference to the session and finish normally.
        self._session = None
        self._local = threading.local()  # drops every thread's bindings and buffers
