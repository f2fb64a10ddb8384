"""``backend="auto"`` for an ONNX file on the CPU: which installed runtime runs it, and why.

Two regimes, because one promise matters more than a few percent:

* ``precision`` not given (the default): the runtime that keeps every image promise of the
  default — fp32 arithmetic and the *same bits at every batch size*
  (``sample(1, seed=5)[0] == sample(10, seed=0)[5]``). onnxruntime's CPU kernels keep it.
  OpenVINO's do not: with more than one thread its kernels split the work by batch size, and
  images differ in the last bits between batch sizes (measured: 2.7e-7 between batch 3 and
  batch 1 on a 32x32 DCGAN with 2 threads), which can move a pixel by one uint8 level. So the
  default is onnxruntime, chosen without measuring (nothing to choose between), and OpenVINO
  only where onnxruntime is not installed.
* ``precision="fp32"``, ``"bf16"`` or ``"auto"``: the caller trades bit-identity across batch
  sizes for speed, within the precision gates. Candidates: onnxruntime (fp32) and OpenVINO
  fp32 for ``fp32``; OpenVINO bf16 alone for ``bf16``; all three for ``auto`` (bf16 only where
  the CPU executes it natively and it passes its gate). They are timed side by side at the
  requested batch size (``batch_size=``, default 64; smaller, down to 4, when one round would
  not fit) in interleaved rounds for about a second, and a candidate other than onnxruntime must be at least :data:`MARGIN` faster to be taken, so
  noise never trades the reference away. The choice and its figures are cached per model
  sha256, CPU model, runtime versions, threads, batch size and precision
  (:mod:`ganedge.usercache`, folder ``auto-backend``): a warm load compiles only the winner.

``backend="onnxruntime"`` or ``"openvino"`` is never second-guessed.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ganedge import usercache
from ganedge.cpu_features import cpu_features
from ganedge.errors import BackendUnavailableError, BadInputError
from ganedge.extras import install_hint, needs
from ganedge.latents import latents, seed_range
from ganedge.sdk.backends.base import Runner

log = logging.getLogger("ganedge.sdk")

AUTO_PRECISIONS = ("fp32", "bf16", "auto")
MEASURE_SECONDS = 1.0  # the whole measurement, warm-up calls included
MARGIN = 1.10  # a non-reference runtime must be this much faster than onnxruntime to be chosen
DEFAULT_BATCH = 64  # the Generator's default batch
MIN_MEASURE_BATCH = 4  # per-image cost is about flat from here for generators; below it, call overhead shows
_CACHE_KIND = "auto-backend"
_CACHE_VERSION = 1


@dataclass(frozen=True)
class Candidate:
    label: str  # "onnxruntime fp32", "openvino fp32", "openvino bf16"
    backend: str
    options: dict[str, Any]


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def candidates(precision: str | None) -> list[Candidate]:
    """The runtimes ``precision`` allows, among those installed; the reference (onnxruntime) first."""
    has_ort, has_ov = _installed("onnxruntime"), _installed("openvino")
    if not has_ort and not has_ov:
        raise BackendUnavailableError(f"an ONNX file needs onnxruntime or openvino ({install_hint('onnxruntime')}, "
                                      "or 'ganedge[openvino]')")
    ort = [Candidate("onnxruntime fp32", "onnxruntime", {})] if has_ort else []
    ov_fp32 = [Candidate("openvino fp32", "openvino", {"precision": "fp32"})] if has_ov else []
    ov_bf16 = []
    if has_ov and precision in ("bf16", "auto"):
        from ganedge.sdk.backends.openvino.loader import bf16_refusal, cpu_support

        support = cpu_support()
        if support.native_bf16:
            ov_bf16 = [Candidate("openvino bf16", "openvino", {"precision": "bf16"})]
        elif precision == "bf16":
            raise BadInputError(bf16_refusal(support))
    if precision == "bf16":
        if not has_ov:
            raise BackendUnavailableError(needs("precision='bf16' on the CPU", "openvino"))
        return ov_bf16
    if precision is None:
        return (ort or ov_fp32)[:1]
    return ort + ov_fp32 + (ov_bf16 if precision == "auto" else [])


def _feeds(runner: Runner, batch: int) -> tuple[np.ndarray, np.ndarray | None]:
    m = runner.manifest
    z = latents(seed_range(0, batch), m.latent_dim)
    labels = (np.arange(batch) % m.num_classes).astype(np.int64) if m.conditional else None
    return z, labels


def _call_timer(runner: Runner, batch: int) -> Callable[[], float]:
    z, labels = _feeds(runner, batch)

    def timed() -> float:
        start = time.perf_counter()
        runner.run(z, labels)
        return time.perf_counter() - start

    return timed


def measure(runners: dict[str, Runner], batch: int, seconds: float = MEASURE_SECONDS) -> dict[str, Any]:
    """Images/s of each runner at ``batch``, median over interleaved rounds (A, B, C, A, B, C, ...).

    A first call per runner at a small batch warms it up (allocations, kernels) and prices an
    image; when a round at ``batch`` would not fit a third of ``seconds``, the rounds run at the
    largest power-of-two batch that does (at least :data:`MIN_MEASURE_BATCH`, per-image cost being
    flat from there for generators), so the whole measurement stays near ``seconds``."""
    begin = time.perf_counter()
    probe = min(batch, MIN_MEASURE_BATCH)
    per_image = sum(_call_timer(r, probe)() for r in runners.values()) / probe
    measured = batch
    if batch > probe and per_image * batch * 3 > seconds:
        fits = int(seconds / (3 * per_image))
        measured = max(probe, 1 << max(0, fits.bit_length() - 1))
    timers = {label: _call_timer(r, measured) for label, r in runners.items()}
    if measured != probe:
        for timer in timers.values():
            timer()  # warm-up at the measured shape
    times: dict[str, list[float]] = {label: [] for label in runners}
    rounds = 0
    while rounds < 2 or (time.perf_counter() - begin < seconds and rounds < 200):
        for label, timer in timers.items():
            times[label].append(timer())
        rounds += 1
    rates = {label: measured / statistics.median(t) for label, t in times.items()}
    return {"images_per_s": {k: round(v, 1) for k, v in rates.items()}, "batch_requested": batch,
            "batch_measured": measured, "rounds": rounds, "seconds": round(time.perf_counter() - begin, 3)}


def choose(rates: dict[str, float], reference: str | None) -> str:
    """The fastest candidate, except that one other than ``reference`` must beat it by :data:`MARGIN`."""
    best = max(rates, key=rates.get)
    if reference in rates and best != reference and rates[best] < MARGIN * rates[reference]:
        return reference
    return best


def cache_key(path: Path, precision: str | None, threads: int, batch: int, labels: list[str]) -> dict[str, Any]:
    features = cpu_features()
    return {"sha256": usercache.file_sha256(path), "cpu": features.model, "flags": features.precision_flags,
            "onnxruntime": _version("onnxruntime"), "openvino": _version("openvino"), "threads": threads,
            "batch": batch, "precision": precision, "candidates": labels, "version": _CACHE_VERSION}


def explain(choice: str, precision: str | None, figures: dict[str, Any] | None, cached: bool) -> str:
    """The one line ``backend_info["selected"]`` shows."""
    if figures is None:
        if precision is None:
            return (f"backend auto: {choice} (no precision= given: onnxruntime gives bit-identical images at every "
                    "batch size; precision='auto' lets auto time OpenVINO fp32/bf16 too)"
                    if choice.startswith("onnxruntime") else
                    f"backend auto: {choice} (onnxruntime is not installed; OpenVINO images may differ in the last "
                    "bits between batch sizes)")
        return f"backend auto: {choice} (the only candidate for precision={precision!r} here)"
    rates = figures["images_per_s"]
    ranked = ", ".join(f"{label} {rate:,.0f}" for label, rate in sorted(rates.items(), key=lambda kv: -kv[1]))
    how = "cached measurement" if cached else "measured"
    rule = f"others must beat onnxruntime by {MARGIN - 1:.0%}" if "onnxruntime fp32" in rates else "fastest"
    return (f"backend auto, precision={precision}: {choice} — {how}, img/s at batch {figures['batch_measured']} "
            f"({figures['threads']} threads): {ranked}; {rule}")


def _unknown_options(options: dict[str, Any]) -> None:
    if options:
        name = sorted(options)[0]
        raise BadInputError(f"option {name!r} belongs to one runtime, but backend='auto' with precision= chooses "
                            "between runtimes; pass backend='onnxruntime' or backend='openvino' to set it")


def select(path: Path, manifest, threads: int | None, precision: str | None, batch_size: int | None,
           options: dict[str, Any], build: Callable[[Candidate], Runner]) -> tuple[Runner, str, dict[str, Any]]:
    """(runner, the one-line explanation, details for ``backend_info["auto"]``) for ``path`` on the CPU.

    ``build(candidate)`` opens a runner; ``options`` are the caller's other backend options (only
    taken when precision is None, where they go to the one candidate)."""
    if precision is not None and precision not in AUTO_PRECISIONS:
        raise BadInputError(f"precision {precision!r} is not one of {', '.join(AUTO_PRECISIONS)}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise BadInputError(f"batch_size must be a positive integer, got {batch_size!r}")
    pool = candidates(precision)
    if precision is not None:
        _unknown_options(options)
    if len(pool) == 1:
        only = pool[0]
        runner = build(Candidate(only.label, only.backend, {**only.options, **options}))
        return runner, explain(only.label, precision, None, False), {"candidates": [only.label]}
    from ganedge.sdk.backends.onnxrt.loader import check_threads

    threads = check_threads(threads)
    batch = batch_size or DEFAULT_BATCH
    labels = [c.label for c in pool]
    key = cache_key(path, precision, threads, batch, labels)
    cached = usercache.read(_CACHE_KIND, key)
    if cached and cached.get("choice") in labels:
        choice = cached["choice"]
        runner = build(next(c for c in pool if c.label == choice))
        figures = cached["figures"]
        return runner, explain(choice, precision, figures, True), {**figures, "choice": choice, "cached": True}
    runners = {c.label: build(c) for c in pool}
    dropped = {}
    for label in [lbl for lbl, r in runners.items() if lbl.endswith("bf16") and r.precision != "bf16"]:
        gone = runners.pop(label)
        dropped[label] = gone.describe().get("precision_reason", "bf16 not used")
        gone.close()
        log.info("ganedge.sdk: auto: %s dropped (%s)", label, dropped[label])
    try:
        figures = {**measure(runners, batch), "threads": threads}
        if dropped:
            figures["dropped"] = dropped
    except BaseException:
        for r in runners.values():
            r.close()
        raise
    choice = choose(figures["images_per_s"], "onnxruntime fp32")
    for label, r in runners.items():
        if label != choice:
            r.close()
    written = usercache.write(_CACHE_KIND, key, {"choice": choice, "figures": figures})
    details = {**figures, "choice": choice, "cached": False, "cache_file": None if written is None else str(written)}
    return runners[choice], explain(choice, precision, figures, False), details
