"""Side-by-side throughput of bulk generation, in one run: SDK alone vs local workers vs Ray.

    python -m ganedge.generate.bench model16.onnx model32.onnx --count 20000 --repeats 3

Per model, interleaved over ``--repeats`` rounds (median reported), all on one CPU thread per
worker:
  sdk            one process, ``Generator.sample_seeds`` only (the model's own rate)
  sdk+png        the same plus PNG encoding of every image (what a shard worker must do)
  gen w1         ``generate --workers 1`` (in-process: model, PNG, tar, checksum)
  gen wN         ``generate --workers N`` (local processes), webdataset and npz
  ray N          ``generate --ray`` with N actors on a local Ray instance of N CPUs
and the ratios the design is judged by: local wN vs N x sdk+png, Ray vs local, the share of
time PNG encoding takes, and npz (no PNG) vs webdataset. Job times include worker start-up and
model loads; choose --count so they are small against the run. Load average is printed,
since a shared machine skews everything.
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
from ganedge.generate.png import encode_png

BATCH = 64


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def sdk_rate(model: Path, count: int, png: bool) -> float:
    from ganedge import sdk

    with sdk.load(model, device="cpu", threads=1) as g:
        labels = 0 if g.manifest.conditional else None
        g.sample(BATCH, labels=labels)  # warm-up: first-run allocations
        started = time.perf_counter()
        for first in range(0, count, BATCH):
            images = g.sample(min(BATCH, count - first), seed=first, labels=labels)
            if png:
                for image in images:
                    encode_png(image)
        return count / (time.perf_counter() - started)


def job_rate(model: Path, count: int, workers: int, fmt: str, ray: str | None, scratch: Path) -> tuple[float, float]:
    """(images/s over the whole job, largest peak RSS of a worker in MB)."""
    out = Path(tempfile.mkdtemp(dir=scratch))
    options = GenerateOptions(model=model, out=out, count=count, shard_size=max(1, count // (4 * workers)),
                              format=fmt, workers=workers, threads_per_worker=1, ray=ray, batch_size=BATCH)
    try:
        started = time.perf_counter()
        report = generate(options, progress=False, say=lambda _: None)
        seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(out, ignore_errors=True)
    memory = max((s["peak_rss_mb"] for s in report["worker_stats"]), default=0.0)
    return count / seconds, memory


def measure(model: Path, count: int, workers: int, repeats: int, use_ray: bool, scratch: Path) -> dict:
    configs = {"sdk": lambda: (sdk_rate(model, count, png=False), 0.0),
               "sdk+png": lambda: (sdk_rate(model, count, png=True), 0.0),
               "gen w1": lambda: job_rate(model, count, 1, "webdataset", None, scratch),
               f"gen w{workers}": lambda: job_rate(model, count, workers, "webdataset", None, scratch),
               f"gen w{workers} npz": lambda: job_rate(model, count, workers, "npz", None, scratch)}
    if use_ray:
        configs[f"ray {workers}"] = lambda: job_rate(model, count, workers, "webdataset", "auto", scratch)
    rates: dict[str, list[float]] = {name: [] for name in configs}
    memory: dict[str, float] = {}
    for _ in range(repeats):  # interleaved: drift in machine load hits every configuration alike
        for name, run in configs.items():
            rate, mb = run()
            rates[name].append(rate)
            memory[name] = max(memory.get(name, 0.0), mb)
    return {name: (statistics.median(values), min(values), max(values), memory[name]) for name, values in rates.items()}


def report(model: Path, results: dict, workers: int) -> None:
    print(f"\n{model.name}  (images/s: median [min-max] of the rounds; peak RSS per worker)")
    for name, (median, low, high, mb) in results.items():
        print(f"  {name:<14} {median:9.0f}  [{low:.0f}-{high:.0f}]" + (f"  {mb:.0f} MB" if mb else ""))
    sdk, png = results["sdk"][0], results["sdk+png"][0]
    local = results[f"gen w{workers}"][0]
    print(f"  PNG encoding share of sdk+png time: {1 - png / sdk:.0%}; npz (no PNG) vs webdataset with "
          f"{workers} workers: x{results[f'gen w{workers} npz'][0] / local:.2f}")
    print(f"  gen w1 vs sdk+png (the job's own overhead): {results['gen w1'][0] / png:.2f}")
    print(f"  local: gen w{workers} / ({workers} x sdk+png) = {local / (workers * png):.2f}  (bar 0.90)")
    if f"ray {workers}" in results:
        print(f"  ray:   ray {workers} / gen w{workers} = {results[f'ray {workers}'][0] / local:.2f}  (bar 0.80)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ganedge.generate.bench", description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-ray", action="store_true", help="skip Ray (or: Ray is not installed)")
    args = parser.parse_args(argv)
    use_ray = not args.no_ray
    if use_ray:
        import ray

        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        started = time.perf_counter()
        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
        print(f"ray.init with {args.workers} CPUs: {time.perf_counter() - started:.1f} s (not counted below)")
    print(f"load average before: {load_average()}; {os.cpu_count()} CPUs; count {args.count}, batch {BATCH}")
    with tempfile.TemporaryDirectory(prefix="ganedge-gen-bench-") as scratch:
        for model in args.models:
            report(model, measure(model, args.count, args.workers, args.repeats, use_ray, Path(scratch)), args.workers)
    print(f"\nload average after: {load_average()}")


if __name__ == "__main__":
    main()
