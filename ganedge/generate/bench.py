"""Side-by-side throughput of bulk generation, in one run: SDK alone vs local workers vs Ray.

    python -m ganedge.generate.bench model16.onnx model32.onnx --count 20000 --repeats 3

Per model, interleaved over ``--repeats`` rounds (median reported), one CPU thread per worker:
  sdk            one process, ``Generator.sample`` only (the model's own rate)
  sdk+png        the same plus PNG encoding of every image (what a shard worker must do)
  gen w1         ``generate --workers 1`` (in-process: model, PNG, tar, checksum)
  gen wN         ``generate --workers N`` (local processes), webdataset and npz
  ray N          ``generate --ray`` with N actors on a local Ray instance of N CPUs
For each: wall-clock images/s, and CPU microseconds per image (driver + workers, start-up and
model loads included; Ray's own daemons not), and for worker jobs the images/s while rendering
(each worker's images over its render time, summed: what a job of millions approaches once
start-up is amortised). On a machine other jobs share, wall-clock
scaling says more about them than about us; CPU per image does not depend on who else runs,
and N workers reach N x the single-process rate exactly when they spend no more CPU per image
and have N free cores. Both ratios are printed, with the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from ganedge.generate.job import GenerateOptions, generate
from ganedge.generate.png import encode_pngs

BATCH = 64


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def sdk_rate(model: Path, count: int, png: bool) -> tuple[float, float, float, float]:
    """(images/s, CPU us per image, 0 MB, images/s again): one process, one thread."""
    from ganedge import sdk

    with sdk.load(model, device="cpu", threads=1) as g:
        labels = 0 if g.manifest.conditional else None
        g.sample(BATCH, labels=labels)  # warm-up: first-run allocations
        started, cpu = time.perf_counter(), time.process_time()
        for first in range(0, count, BATCH):
            images = g.sample(min(BATCH, count - first), seed=first, labels=labels)
            if png:
                encode_pngs(images)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return count / wall, cpu / count * 1e6, 0.0, count / wall


def job_rate(model: Path, count: int, workers: int, fmt: str, ray: str | None,
             scratch: Path) -> tuple[float, float, float, float]:
    """(images/s over the whole job, CPU us per image, largest worker peak RSS in MB, images/s
    while rendering: the workers' own rates summed, start-up and model loads left out)."""
    out = Path(tempfile.mkdtemp(dir=scratch))
    options = GenerateOptions(model=model, out=out, count=count, shard_size=max(1, count // (4 * workers)),
                              format=fmt, workers=workers, threads_per_worker=1, ray=ray, batch_size=BATCH)
    try:
        started, cpu = time.perf_counter(), time.process_time()
        report = generate(options, progress=False, say=lambda _: None)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        shutil.rmtree(out, ignore_errors=True)
    stats = report["worker_stats"]
    if report["executor"] == "local" and report["workers"] > 1 or report["executor"] == "ray":
        cpu += sum(s["cpu_s"] for s in stats)  # separate processes: their whole life, start-up included
    memory = max((s["peak_rss_mb"] for s in stats), default=0.0)
    rendering = sum(s["images"] / s["render_s"] for s in stats if s["render_s"] > 0)
    return count / wall, cpu / count * 1e6, memory, rendering


def measure(model: Path, count: int, workers: int, repeats: int, use_ray: bool, scratch: Path) -> dict:
    configs = {"sdk": lambda: sdk_rate(model, count, png=False),
               "sdk+png": lambda: sdk_rate(model, count, png=True),
               "gen w1": lambda: job_rate(model, count, 1, "webdataset", None, scratch),
               f"gen w{workers}": lambda: job_rate(model, count, workers, "webdataset", None, scratch),
               f"gen w{workers} npz": lambda: job_rate(model, count, workers, "npz", None, scratch)}
    if use_ray:
        configs[f"ray {workers}"] = lambda: job_rate(model, count, workers, "webdataset", "auto", scratch)
    rows: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in configs}
    for _ in range(repeats):  # interleaved: drift in machine load hits every configuration alike
        for name, run in configs.items():
            rows[name].append(run())
    return {name: {"rate": statistics.median(r[0] for r in values), "low": min(r[0] for r in values),
                   "high": max(r[0] for r in values), "cpu_us": statistics.median(r[1] for r in values),
                   "mb": max(r[2] for r in values), "rendering": statistics.median(r[3] for r in values)}
            for name, values in rows.items()}


def report(model: Path, results: dict, workers: int) -> None:
    print(f"\n{model.name}  (median of the rounds [min-max]; CPU us per image; peak RSS per worker)")
    for name, row in results.items():
        print(f"  {name:<14} {row['rate']:8.0f} img/s [{row['low']:.0f}-{row['high']:.0f}]  {row['cpu_us']:7.0f} us CPU"
              + (f"  {row['mb']:.0f} MB, {row['rendering']:.0f} img/s while rendering" if row["mb"] else ""))
    sdk, png = results["sdk"], results["sdk+png"]
    local, npz = results[f"gen w{workers}"], results[f"gen w{workers} npz"]
    print(f"  PNG encoding: {1 - sdk['cpu_us'] / png['cpu_us']:.0%} of sdk+png CPU time; npz (no PNG) vs webdataset, "
          f"{workers} workers: x{npz['rate'] / local['rate']:.2f} wall, x{local['cpu_us'] / npz['cpu_us']:.2f} CPU")
    print(f"  local gen w{workers} vs {workers} x sdk+png: {local['rate'] / (workers * png['rate']):.2f} wall, "
          f"{png['cpu_us'] / local['cpu_us']:.2f} CPU efficiency  (bar 0.90); while rendering (workers' "
          f"start-up left out, what a long job approaches): {local['rendering'] / (workers * png['rate']):.2f}")
    if f"ray {workers}" in results:
        ray = results[f"ray {workers}"]
        print(f"  ray {workers} vs gen w{workers}: {ray['rate'] / local['rate']:.2f} wall, "
              f"{local['cpu_us'] / ray['cpu_us']:.2f} CPU efficiency  (bar 0.80); while rendering: "
              f"{ray['rendering'] / local['rendering']:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ganedge.generate.bench", description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-ray", action="store_true", help="skip Ray (or: Ray is not installed)")
    args = parser.parse_args(argv)
    if not args.no_ray:
        import ray

        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        started = time.perf_counter()
        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
        print(f"ray.init with {args.workers} CPUs: {time.perf_counter() - started:.1f} s (not counted below)")
    print(f"load average before: {load_average()}; {os.cpu_count()} CPUs; count {args.count}, batch {BATCH}")
    with tempfile.TemporaryDirectory(prefix="ganedge-gen-bench-") as scratch:
        for model in args.models:
            results = measure(model, args.count, args.workers, args.repeats, not args.no_ray, Path(scratch))
            report(model, results, args.workers)
    print(f"\nload average after: {load_average()}")


if __name__ == "__main__":
    main()
