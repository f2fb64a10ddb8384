"""Micro-benchmarks of the runtime SDK (not of models): is the SDK ever the bottleneck?

    python -m ganedge.bench.micro latents             # latents/s of dim 128 on one core
    python -m ganedge.bench.micro overhead            # g.sample vs bare session.run vs torch eager
    python -m ganedge.bench.micro batcher             # 32 callers through a Batcher vs unbatched

``overhead`` and ``batcher`` build randomly initialised DCGANs (dcgan-32 and dcgan-64 by
default; the arithmetic cost of a forward pass does not depend on the weights' values) and
export them with torch.onnx, or take existing ONNX files with ``--onnx``. Workloads are timed
interleaved (ganedge.bench.schedule), so machine drift hits all of them alike and ratios stay
meaningful on a shared box even when absolute numbers move. ``--json`` prints one JSON object.
"""

from __future__ import annotations

import itertools
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import click
import numpy as np

from ganedge.bench.schedule import SchedulePolicy, run_interleaved
from ganedge.bench.stats import LatencyStats, percentile
from ganedge.click_types import IntList


# --- models ------------------------------------------------------------------------------------


def build_random_model(folder: Path, arch: str = "dcgan", size: int = 32, width: int | None = None,
                       latent_dim: int = 128) -> tuple[Path, Path, Any]:
    """A randomly initialised generator as ``(model.onnx, run dir, torch module)``: a run dir
    (``write_random_run``) exported by the real pipeline, so the ONNX file, the SDK's torch
    backend and the bare module all hold the same weights."""
    from ganedge.export.pipeline import ExportOptions, export_onnx
    from ganedge.models.load import load_generator
    from ganedge.models.random_run import write_random_run

    run_dir = write_random_run(folder / f"run-{arch}{size}", arch, size, latent_dim, width=width)
    path = folder / f"{arch}{size}.onnx"
    result = export_onnx(run_dir, path, ExportOptions(lint=False))
    if not all(v.written for v in result.variants):
        raise RuntimeError(f"exporting the random {arch}-{size} failed its gate: {result}")
    return path, run_dir, load_generator(run_dir)[0]


def _models(onnx_files: tuple[Path, ...], sizes: list[int], width: int | None, folder: Path):
    """[(name, onnx path, run dir or None, torch module or None)]."""
    if onnx_files:
        return [(p.stem, p, None, None) for p in onnx_files]
    return [(f"dcgan-{s}", *build_random_model(folder, "dcgan", s, width)) for s in sizes]


def _bare_session(path: Path, threads: int | None):
    """A session made by the SDK's own factory, with nothing of the SDK around it."""
    from ganedge.cpu import usable_cores
    from ganedge.sdk.backends.onnxrt.loader import create_session

    return create_session(path, threads=threads or usable_cores()).session


def _bind(fn: Callable[[int, np.ndarray], Any], batch: int, z: np.ndarray) -> Callable[[], None]:
    def call() -> None:  # a schedule workload returns None: the scheduler times the whole call
        fn(batch, z)
    return call


def _sdk_extra_ms(g, batch: int, output: np.ndarray, repeats: int = 50) -> float:
    """Median ms of what g.sample does beyond session.run + conversion: argument handling (as in
    ``sample(0)``), latents for ``batch`` seeds and the NaN/Inf check of one output."""
    from ganedge.latents import latents as make_latents
    from ganedge.sdk.backends.base import check_finite

    dim = g.manifest.latent_dim

    def work(i: int) -> None:
        g.sample(0, seed=i)
        make_latents(np.arange(i * batch, (i + 1) * batch, dtype=np.uint64), dim)
        check_finite(output)

    times = []
    for i in range(repeats):
        t = time.perf_counter()
        work(i)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def _row(stats: LatencyStats, batch: int) -> dict[str, Any]:
    return {"batch_size": batch, "images_per_s": round(stats.items_per_s(batch), 2), "p50_ms": round(stats.p50_ms, 3),
            "p99_ms": round(stats.p99_ms, 3), "mean_ms": round(stats.mean_ms, 3), "calls": stats.n,
            "cv": None if stats.cv is None else round(stats.cv, 3)}


def _machine() -> dict[str, Any]:
    from ganedge.bench.machine import describe_machine
    from ganedge.cpu import usable_cores

    try:
        return describe_machine(usable_cores(), ["cpu"])
    except Exception as exc:  # a description is nice to have; never fail the benchmark for it
        return {"error": str(exc)}


def _emit(result: dict[str, Any], as_json: bool, table: Callable[[], None]) -> None:
    if as_json:
        click.echo(json.dumps(result, sort_keys=True, default=str))
    else:
        table()


def _overhead_rows(name: str, path: Path, torch_model: tuple[Path, Any] | None, batch_sizes: list[int],
                   policy: SchedulePolicy, threads: int | None) -> list[dict[str, Any]]:
    """One model's workloads (sdk, bare, and torch ones when ``torch_model`` = (run dir, module)),
    interleaved at each batch size."""
    from ganedge import sdk
    from ganedge.images import to_uint8_nhwc

    g = sdk.load(path, threads=threads)
    session = _bare_session(path, threads)
    calls = itertools.count()
    workloads: dict[str, Callable[[int, np.ndarray], Any]] = {
        "sdk": lambda b, z: g.sample(b, seed=next(calls) * b),  # fresh seeds every call
        "bare": lambda b, z: to_uint8_nhwc(session.run(["image"], {"z": z})[0], inplace=True),
    }
    g_torch = None
    if torch_model is not None:
        import torch

        from ganedge.sdk.backends.pytorch.convert import torch_uint8_nhwc

        run_dir, module = torch_model
        g_torch = sdk.load(run_dir, backend="torch", device="cpu", threads=threads)

        def eager(b, z):
            with torch.inference_mode():
                return torch_uint8_nhwc(module(torch.from_numpy(z))).numpy()

        workloads["torch"] = eager
        workloads["torch-sdk"] = lambda b, z: g_torch.sample(b)
    rows = []
    for batch in batch_sizes:
        z = g.latents(np.arange(batch))
        names = list(workloads)
        samples = run_interleaved([_bind(workloads[k], batch, z) for k in names], policy)
        results = {k: LatencyStats.from_seconds(s.e2e_s) for k, s in zip(names, samples)}
        for k in names:
            row = {"model": name, "workload": k, **_row(results[k], batch)}
            if k == "sdk":
                extra = _sdk_extra_ms(g, batch, session.run(["image"], {"z": z})[0])
                row.update(overhead_vs_bare_pct=round(100 * (results["sdk"].p50_ms / results["bare"].p50_ms - 1), 2),
                           sdk_extra_ms=round(extra, 4), sdk_extra_pct=round(100 * extra / results["bare"].p50_ms, 3))
            rows.append(row)
    g.close()
    if g_torch is not None:
        g_torch.close()
    return rows


# --- commands ----------------------------------------------------------------------------------


@click.group()
def main() -> None:
    """Micro-benchmarks of ganedge.sdk. Timings on a shared machine are noisy: compare within one run.

    \b
    Examples:
      python -m ganedge.bench.micro latents
      python -m ganedge.bench.micro overhead --batch-sizes 1,8,64 --duration 2
      python -m ganedge.bench.micro batcher --callers 32 --duration 5 --json
    """


@main.command()
@click.option("--dim", type=click.IntRange(min=1), default=128, show_default=True, metavar="D")
@click.option("--sizes", type=IntList(), default="1,64,4096,65536", show_default=True, metavar="INTS",
              help="Latents per call.")
@click.option("--duration", type=click.FloatRange(min=0.01), default=1.0, show_default=True, metavar="S",
              help="Timed seconds per size.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def latents(dim: int, sizes: list[int], duration: float, as_json: bool) -> None:
    """Latents per second of ganedge.latents (one core: numpy does not thread it).

    \b
    Examples:
      python -m ganedge.bench.micro latents --sizes 1,64,65536
    """
    from ganedge.latents import latents as make_latents

    rows = []
    for n in sizes:
        out = np.empty((n, dim), dtype=np.float32)
        calls, start, times = 0, time.perf_counter(), []
        while time.perf_counter() - start < duration or calls < 3:
            seeds = np.arange(calls * n, (calls + 1) * n, dtype=np.uint64)  # fresh seeds: nothing cached
            t = time.perf_counter()
            make_latents(seeds, dim, out=out)
            times.append(time.perf_counter() - t)
            calls += 1
        per_call = statistics.median(times)
        rows.append({"n": n, "dim": dim, "latents_per_s": round(n / per_call), "us_per_call": round(per_call * 1e6, 2),
                     "calls": calls})
    result = {"benchmark": "latents", "results": rows}

    def table() -> None:
        click.echo(f"{'n':>8} {'latents/s':>12} {'us/call':>10}")
        for r in rows:
            click.echo(f"{r['n']:>8} {r['latents_per_s']:>12,} {r['us_per_call']:>10.1f}")

    _emit(result, as_json, table)


@main.command()
@click.option("--onnx", "onnx_files", type=click.Path(exists=True, dir_okay=False, path_type=Path), multiple=True,
              metavar="FILE", help="Benchmark these ONNX files (no torch column) instead of random DCGANs.")
@click.option("--sizes", type=IntList(minimum=16), default="32,64", show_default=True, metavar="INTS",
              help="Image sizes of the random DCGANs.")
@click.option("--width", type=click.IntRange(min=1), default=None, metavar="N", help="DCGAN width  [default: 64]")
@click.option("--batch-sizes", type=IntList(), default="1,8,64", show_default=True, metavar="INTS")
@click.option("--duration", type=click.FloatRange(min=0.0), default=2.0, show_default=True, metavar="S",
              help="Timed seconds per workload (interleaved slices).")
@click.option("--threads", type=click.IntRange(min=1), default=None, metavar="N",
              help="CPU threads  [default: the cores this process may use]")
@click.option("--no-torch", is_flag=True, help="Skip the torch columns.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def overhead(onnx_files, sizes, width, batch_sizes, duration, threads, no_torch, as_json) -> None:
    """g.sample(n) vs bare session.run + uint8 conversion vs torch eager, side by side.

    sdk: ``g.sample(n, seed=...)`` end to end (latents, run, NaN check, uint8).
    bare: ``session.run`` on precomputed latents plus ``to_uint8_nhwc`` in place.
    torch: the same generator in torch eager (inference_mode, fp32, as trained: NCHW) plus
    uint8; torch-sdk: the SDK's torch backend (channels_last).

    On a busy machine sdk-vs-bare differences of a few percent drown in noise, so each sdk row
    also reports ``sdk_extra_ms``: the SDK's own work beside the shared run + conversion
    (latents, NaN/Inf check, argument handling), timed alone on one thread, and its share of
    the bare call's p50 (``sdk_extra_pct``).

    \b
    Examples:
      python -m ganedge.bench.micro overhead
      python -m ganedge.bench.micro overhead --onnx model.onnx --batch-sizes 64 --json
    """
    import os

    # torch's idle OpenMP threads otherwise spin on for a while after each call, stealing the
    # cores from whichever workload's slice comes next. Must be set before torch loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    policy = SchedulePolicy(duration_s=duration, min_calls=5, warmup_s=min(0.3, duration), slices=8)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ganedge-micro-") as tmp:
        for name, path, run_dir, module in _models(onnx_files, sizes, width, Path(tmp)):
            torch_model = (run_dir, module) if module is not None and not no_torch else None
            rows += _overhead_rows(name, path, torch_model, batch_sizes, policy, threads)
    result = {"benchmark": "overhead", "machine": _machine(), "results": rows}

    def table() -> None:
        click.echo(f"{'model':<10} {'workload':<9} {'batch':>5} {'img/s':>9} {'p50 ms':>9} {'p99 ms':>9} "
                   f"{'vs bare':>8} {'sdk own work':>16}")
        for r in rows:
            vs = f"{r['overhead_vs_bare_pct']:+.1f}%" if "overhead_vs_bare_pct" in r else ""
            own = f"{r['sdk_extra_ms']:.3f} ms {r['sdk_extra_pct']:.2f}%" if "sdk_extra_ms" in r else ""
            click.echo(f"{r['model']:<10} {r['workload']:<9} {r['batch_size']:>5} {r['images_per_s']:>9.1f} "
                       f"{r['p50_ms']:>9.3f} {r['p99_ms']:>9.3f} {vs:>8} {own:>16}")

    _emit(result, as_json, table)


@main.command()
@click.option("--onnx", "onnx_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help="Benchmark this ONNX file instead of a random DCGAN.")
@click.option("--size", type=click.IntRange(min=16), default=32, show_default=True, help="Random DCGAN's image size.")
@click.option("--width", type=click.IntRange(min=1), default=None, metavar="N", help="DCGAN width  [default: 64]")
@click.option("--callers", type=click.IntRange(min=1), default=32, show_default=True, metavar="N",
              help="Concurrent caller threads, each asking for one image at a time.")
@click.option("--duration", type=click.FloatRange(min=0.1), default=5.0, show_default=True, metavar="S",
              help="Seconds per mode.")
@click.option("--max-batch", type=click.IntRange(min=1), default=64, show_default=True, metavar="N")
@click.option("--max-delay-ms", type=click.FloatRange(min=0.0), default=2.0, show_default=True, metavar="MS")
@click.option("--threads", type=click.IntRange(min=1), default=None, metavar="N",
              help="CPU threads  [default: the cores this process may use]")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def batcher(onnx_file, size, width, callers, duration, max_batch, max_delay_ms, threads, as_json) -> None:
    """N concurrent callers wanting one image each: through a Batcher vs calling g.sample(1) directly.

    \b
    Examples:
      python -m ganedge.bench.micro batcher
      python -m ganedge.bench.micro batcher --onnx model.onnx --callers 64 --max-delay-ms 5 --json
    """
    from ganedge import sdk

    with tempfile.TemporaryDirectory(prefix="ganedge-micro-") as tmp:
        path = onnx_file or build_random_model(Path(tmp), "dcgan", size, width)[0]
        with sdk.load(path, threads=threads) as g:
            g.sample(max_batch)  # warm-up: first-call allocations of the largest batch
            unbatched = _hammer(lambda seed: g.sample(1, seed=seed), callers, duration)
            with sdk.Batcher(g, max_batch=max_batch, max_delay_ms=max_delay_ms, max_queue=max(1024, callers)) as b:
                batched = _hammer(lambda seed: b.sample(seed), callers, duration)
                stats = b.stats()
    batched.update(mean_batch=round(stats.mean_batch, 2), max_batch_seen=stats.max_batch_seen, batches=stats.batches)
    rows = [{"mode": "unbatched", **unbatched}, {"mode": "batcher", **batched}]
    result = {"benchmark": "batcher", "model": str(onnx_file) if onnx_file else f"dcgan-{size}", "callers": callers,
              "max_batch": max_batch, "max_delay_ms": max_delay_ms, "machine": _machine(), "results": rows}

    def table() -> None:
        click.echo(f"{callers} callers, {result['model']}, max_batch {max_batch}, max_delay {max_delay_ms} ms")
        click.echo(f"{'mode':<10} {'img/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'mean batch':>11}")
        for r in rows:
            click.echo(f"{r['mode']:<10} {r['images_per_s']:>10.1f} {r['p50_ms']:>9.2f} {r['p99_ms']:>9.2f} "
                       f"{r.get('mean_batch', 1.0):>11.1f}")

    _emit(result, as_json, table)


def _hammer(request: Callable[[int], Any], callers: int, duration: float) -> dict[str, Any]:
    """``callers`` threads call ``request(seed)`` back to back for ``duration`` s; per-request latency."""
    from ganedge.bench.concurrency import run_closed_loop

    latencies, elapsed = run_closed_loop(request, callers, duration, itertools.count(0))
    ms = [x * 1e3 for x in latencies]
    return {"images": len(ms), "seconds": round(elapsed, 3), "images_per_s": round(len(ms) / elapsed, 2),
            "p50_ms": round(percentile(ms, 50), 3), "p99_ms": round(percentile(ms, 99), 3)}


if __name__ == "__main__":
    main()
