"""``run_bench(BenchConfig(...)) -> BenchResult``: the whole sweep, as the CLI and the demo run it.

Order of work, chosen so that nothing of ours runs while configurations are timed:
load every variant -> machine description -> peak probe (subprocess) -> cold start and peak
memory (one subprocess per configuration) -> FLOP counts -> quality (optional) -> the
interleaved timed sweep -> concurrency (optional) -> rows, summary and warnings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

from ganedge.errors import BadInputError

from ganedge.bench import coldstart, machine, schedule
from ganedge.bench.stats import DEFAULT_MAX_CV, LatencyStats
from ganedge.bench.variants import Case, Variant, balanced_labels

SEED_SPAN = 1 << 20  # timed calls cycle through seeds [seed, seed + SEED_SPAN)


@dataclass(frozen=True)
class BenchConfig:
    models: tuple[str, ...]
    backends: tuple[str, ...] = ()  # empty: every artifact on its own backend
    precisions: tuple[str, ...] = ("fp32", "bf16")  # torch backend on run dirs
    modes: tuple[str, ...] = ("eager",)  # run dirs and engines: "eager" and/or "graphs" (CUDA graphs)
    batch_sizes: tuple[int, ...] = (1, 8, 64)
    duration_s: float = 2.0  # timed seconds per configuration (a minimum)
    warmup_s: float = 0.3
    min_calls: int = 5
    slices: int = 10
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:N" (as ganedge.sdk.load)
    threads: int | None = None  # None: the cores this process may use
    seed: int = 0
    cold_start: bool = True
    cold_start_timeout_s: float = 600.0
    roofline: bool = True
    peak_probe_s: float = 1.0  # timed seconds per peak figure (after one warm-up call)
    compute_only: bool | None = None  # time generate(z) too; None: on CUDA devices only
    quality: bool = False
    quality_n: int = 512
    fd: bool = True  # with quality: FD as well as PSNR
    min_psnr: float = 30.0  # quality budget: the int8 export gate's defaults
    max_fd_increase: float = 0.10
    concurrency: int = 0  # client threads; 0 = off
    max_delay_ms: float = 2.0
    max_cv: float = DEFAULT_MAX_CV
    module_options: dict[str, Any] = field(default_factory=dict)  # sdk.load keywords for module references

    def __post_init__(self) -> None:
        if not self.models:
            raise BadInputError("no MODEL given; pass run directories, .onnx files or TensorRT engines")
        if not self.batch_sizes or min(self.batch_sizes) < 1:
            raise BadInputError(f"batch sizes must be integers >= 1, got {list(self.batch_sizes)}")
        if self.duration_s <= 0 or self.warmup_s < 0:
            raise BadInputError("--duration must be > 0 and --warmup >= 0 seconds")
        if self.quality_n < 2:
            raise BadInputError("--quality-n must be >= 2 (FD needs at least two images)")
        if self.concurrency < 0:
            raise BadInputError("--concurrency must be >= 0")
        if "graphs" in self.modes and self.device == "cpu":
            raise BadInputError("--modes graphs runs CUDA graphs and needs --device cuda; on a CPU use --modes eager")

    def policy(self) -> schedule.SchedulePolicy:
        return schedule.SchedulePolicy(duration_s=self.duration_s, min_calls=self.min_calls, warmup_s=self.warmup_s,
                                       slices=self.slices)


@dataclass
class BenchResult:
    machine: dict[str, Any]
    peak: dict[str, Any] | None
    results: list[dict[str, Any]]
    concurrency: list[dict[str, Any]] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = {"machine": self.machine, "peak": self.peak, "results": self.results}
        if self.concurrency:
            data["concurrency"] = self.concurrency
        data.update(summary=self.summary, warnings=self.warnings, settings=self.settings)
        return data


Reporter = Callable[[str], None]


class _Phase:
    """A progress bar per phase (ganedge.progress), or nothing when progress is off."""

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __call__(self, total: int, label: str):
        from ganedge.progress import Progress

        return Progress(total=total, label=label, enabled=self.enabled)


def _sample_workload(variant: Variant, batch: int, seed: int) -> schedule.Workload:
    g = variant.generator
    next_seed = [seed]
    labels = balanced_labels(g.manifest, batch)

    def call() -> None:
        g.sample(batch, seed=next_seed[0], batch_size=batch, labels=labels)  # uint8 (batch, H, W, C) on the host
        next_seed[0] = seed + (next_seed[0] - seed + batch) % SEED_SPAN

    return call


def _compute_workload(variant: Variant, batch: int, seed: int) -> tuple[schedule.Workload, str]:
    """generate(z) on fixed latents: no latents, no uint8 conversion. Host-timed unless the runner
    offers a device timer (``device_compute_ms(z, labels)``: CUDA events around the engine alone)."""
    g = variant.generator
    z = g.latents(list(range(seed, seed + batch)))  # (batch, latent_dim)
    labels = balanced_labels(g.manifest, batch)
    runner = g.runner
    device_timer = getattr(runner, "device_compute_ms", None)
    if device_timer is not None and variant.device.startswith("cuda"):
        import numpy as np

        label_array = None if labels is None else np.asarray(labels, dtype=np.int64)
        return (lambda: device_timer(z, label_array) / 1e3), "cuda-event"

    def call() -> None:
        g.generate(z, labels)  # float32 (batch, C, H, W) on the host

    return call, "host"


def _cold_starts(cases: list[Case], config: BenchConfig, threads: int, phase: _Phase, warn: Reporter
                 ) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    with phase(len(cases), "cold start") as bar:
        for i, case in enumerate(cases):
            bar.update(i, case=case.label)
            spec = {"path": str(case.variant.artifact.path), "batch_size": case.batch_size, "seed": config.seed,
                    "load_kwargs": case.variant.load_kwargs(config.device, threads)}
            try:
                out[i] = coldstart.run_in_subprocess(spec, config.cold_start_timeout_s)
            except RuntimeError as exc:
                warn(f"cold start of {case.label} failed in its subprocess: {exc}")
        bar.update(len(cases))
    return out


def _timed_sweep(cases: list[Case], config: BenchConfig, compute: bool, phase: _Phase) -> dict[int, dict[str, Any]]:
    """Every case's end-to-end workload (and compute-only one), interleaved; statistics per case."""
    workloads, owners, compute_timers = [], [], {}
    for i, case in enumerate(cases):
        workloads.append(_sample_workload(case.variant, case.batch_size, config.seed))
        owners.append((i, "e2e"))
        if compute:
            workload, compute_timers[i] = _compute_workload(case.variant, case.batch_size, config.seed)
            workloads.append(workload)
            owners.append((i, "compute"))
    policy = config.policy()
    with phase(len(workloads) * policy.slices, "slice") as bar:
        done = [0]

        def on_slice(index: int, samples: schedule.Samples) -> None:
            done[0] += 1
            bar.update(done[0], config=cases[owners[index][0]].label)

        recorded = schedule.run_interleaved(workloads, policy, on_slice=on_slice)
    timed: dict[int, dict[str, Any]] = {}
    for (i, kind), samples in zip(owners, recorded):
        entry = timed.setdefault(i, {})
        if kind == "e2e":
            entry["e2e"] = LatencyStats.from_seconds(samples.e2e_s)
            entry["slices"] = samples.slices
        else:
            inner = samples.compute_s if compute_timers[i] == "cuda-event" else samples.e2e_s
            entry["compute"] = LatencyStats.from_seconds(inner)
            entry["compute_timer"] = compute_timers[i]
    return timed


def _concurrency(variants: list[Variant], config: BenchConfig, phase: _Phase) -> list[dict[str, Any]]:
    from ganedge.bench.concurrency import measure_concurrency

    rows: list[dict[str, Any]] = []
    with phase(len(variants), "concurrency") as bar:
        for j, variant in enumerate(variants):
            bar.update(j, variant=variant.label)
            rows += measure_concurrency(variant, config.concurrency, config.duration_s, config.slices,
                                        max(config.batch_sizes), config.max_delay_ms, config.seed)
        bar.update(len(variants))
    return rows


def _quality(variants: list[Variant], config: BenchConfig, phase: _Phase) -> tuple[dict[int, Any], list[str]]:
    from ganedge.bench.quality import measure_quality

    with phase(len(variants), "quality") as bar:
        counter = iter(range(len(variants)))
        quality, warnings = measure_quality(
            variants, config.quality_n, config.seed, with_fd=config.fd,
            on_variant=lambda v: bar.update(next(counter), variant=v.label, images=config.quality_n))
        bar.update(len(variants))
    return quality, warnings


def _skipped_openvino_bf16(variants: list[Variant], config: BenchConfig) -> list[str]:
    from ganedge.cpu_features import cpu_features

    features = cpu_features()
    if "bf16" not in config.precisions or features.native_bf16 or not any(v.runtime == "openvino" for v in variants):
        return []
    return [f"no openvino bf16 rows: this {features.model} has no native bf16 ({features.matrix_units()})"]


def run_bench(config: BenchConfig, progress: bool = False, log: Reporter | None = None,
              peak: dict[str, Any] | None = None) -> BenchResult:
    """Run the sweep described by ``config``. ``log`` receives one-line status messages; ``peak``
    (the "peak" object of an earlier result on this machine) skips the peak probe."""
    from ganedge.bench import flops as flop_counter
    from ganedge.bench import peak as peak_probe
    from ganedge.bench import rows as row_builder
    from ganedge.bench.variants import (check_installed, checkpoint_names, close_variants, expand_variants,
                                        load_variants, make_cases, resolve_artifacts)

    say = log or (lambda message: None)
    warnings: list[str] = []
    phase = _Phase(progress)
    threads = config.threads or machine.cores_available()
    variants = expand_variants(resolve_artifacts(config.models, config.module_options), config.backends,
                               config.precisions, config.modes)
    check_installed(variants)  # before "loading": a bad model, or every missing extra, in one line
    warnings.extend(_skipped_openvino_bf16(variants, config))
    try:
        say(f"loading {len(variants)} variant(s)")
        load_variants(variants, config.device, threads)
        cases = make_cases(variants, sorted(set(config.batch_sizes)))
        devices = sorted({v.device for v in variants})
        gpu = next((d for d in devices if d.startswith("cuda")), None)
        info = machine.describe_machine(threads, devices)
        if config.roofline and peak is None:
            say("measuring this machine's peak (GEMM, copy)")
            uses_torch = gpu is not None or any(v.backend == "torch" for v in variants)
            peak = peak_probe.measure_peak(threads, gpu or "cpu", config.peak_probe_s, with_torch=uses_torch)
        cold = _cold_starts(cases, config, threads, phase, warnings.append) if config.cold_start else {}
        flops, flop_warnings = flop_counter.count_flops(variants) if config.roofline else ({}, [])
        traffic = flop_counter.count_traffic(variants) if config.roofline else {}
        warnings.extend(flop_warnings)
        quality: dict[int, Any] = {}
        if config.quality:
            quality, quality_warnings = _quality(variants, config, phase)
            warnings.extend(quality_warnings)
        compute = config.compute_only if config.compute_only is not None else gpu is not None
        say(f"timing {len(cases)} configuration(s), interleaved, >= {config.duration_s:g} s each")
        timed = _timed_sweep(cases, config, compute, phase)
        concurrency_rows = _concurrency(variants, config, phase) if config.concurrency else []
        info["load_average_end"] = machine.load_average()
        names = checkpoint_names(variants)
        results = [row_builder.build_row(case, timed[i], cold.get(i), flops.get(id(case.variant)), peak,
                                         quality.get(id(case.variant)), threads, names[case.variant.group],
                                         traffic.get(id(case.variant)))
                   for i, case in enumerate(cases)]
        warnings.extend(row_builder.stability_warnings(results, config.max_cv))
        summary = row_builder.summary_lines(results, config)
        settings = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}
        settings["threads"] = threads
        return BenchResult(info, peak if config.roofline else None, results, concurrency_rows, summary, warnings,
                           settings)
    finally:
        close_variants(variants)
