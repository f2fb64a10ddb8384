"""Benchmark of the torch generator path on a GPU: eager vs CUDA graphs, fp32/tf32/bf16/fp16, batch 1..1024.

    python -m ganedge.bench.gpu_bench                      # CUDA, dcgan-32 and dcgan-64, full grid (~2 min on an H100)
    python -m ganedge.bench.gpu_bench --quick              # a smaller grid (~20 s)
    python -m ganedge.bench.gpu_bench --device cpu --quick --models dcgan-32 --width 8   # exercises the code on a CPU

Two timings per configuration (random-init weights: speed does not depend on training):
  compute: the generator alone on the device, timed with torch.cuda.Event pairs per iteration;
  e2e:     wall clock of what a caller sees: seeds -> latents (CPU) -> copy in -> G -> uint8 on the
           device -> one copy out to host memory.
Peaks come from the same run: a large matmul per precision and a device-to-device copy. FLOPs
per image are counted from the model (Conv/ConvTranspose/Linear MACs x 2, by forward hooks);
bytes per image from every layer's input and output plus the weights once per batch — the
traffic of unfused eager execution, so the roofline is min(peak FLOP/s, FLOP/byte x copy GB/s).

Needs only numpy and torch (argparse, not click), so it runs where the rest of ganedge's
dependencies are missing. Results go to stdout (the table last) and, with --out or $OUT, to
gpu_bench.json and gpu_bench.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import signal
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ganedge.latents import latents

PRECISIONS = ("fp32", "tf32", "bf16", "fp16")
FULL_BATCHES = (1, 8, 64, 256, 1024)
QUICK_BATCHES = (1, 64, 1024)


@dataclass
class Settings:
    device: str = "cuda"
    models: tuple[str, ...] = ("dcgan-32", "dcgan-64")
    batch_sizes: tuple[int, ...] = FULL_BATCHES
    precisions: tuple[str, ...] = PRECISIONS
    modes: tuple[str, ...] = ("eager", "graph")
    duration: float = 0.3  # seconds of timed compute iterations per configuration
    e2e_duration: float = 0.3  # seconds of end-to-end calls per configuration
    width: int | None = None  # generator base width; None = the architecture's default
    latent_dim: int = 128
    channels_last: bool = True
    quick: bool = False
    threads: int | None = None
    sdk: bool = False


def parse_args(argv: list[str] | None) -> tuple[Settings, Path | None]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu (default: cuda)")
    p.add_argument("--models", default="dcgan-32,dcgan-64", help="ARCH-SIZE list (default: dcgan-32,dcgan-64)")
    p.add_argument("--batch-sizes", default=None, help="default 1,8,64,256,1024 (quick: 1,64,1024)")
    p.add_argument("--precisions", default=None, help="fp32,tf32,bf16,fp16 (quick: fp32,bf16; cpu: fp32,bf16)")
    p.add_argument("--modes", default=None, help="eager,graph (cpu: eager)")
    p.add_argument("--duration", type=float, default=None, help="seconds per timing (default 0.3, quick 0.15)")
    p.add_argument("--width", type=int, default=None, help="generator width (default: the architecture's)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--no-channels-last", action="store_true", help="keep NCHW memory format")
    p.add_argument("--quick", action="store_true", help="fewer configurations and shorter timings")
    p.add_argument("--sdk", action="store_true",
                   help="also time ganedge.sdk.load(run_dir, backend='torch').sample() end to end (needs safetensors)")
    p.add_argument("--out", type=Path, default=None, help="folder for gpu_bench.json/.md (default: $OUT if set)")
    a = p.parse_args(argv)

    def ints(text):
        return tuple(int(v) for v in text.split(",") if v.strip())

    cpu = a.device == "cpu"
    s = Settings(device=a.device, models=tuple(m for m in a.models.split(",") if m), quick=a.quick,
                 width=a.width, channels_last=not a.no_channels_last, threads=a.threads,
                 sdk=a.sdk)
    s.batch_sizes = ints(a.batch_sizes) if a.batch_sizes else (QUICK_BATCHES if a.quick else FULL_BATCHES)
    s.precisions = tuple(a.precisions.split(",")) if a.precisions else (
        ("fp32", "bf16") if a.quick or cpu else PRECISIONS)
    s.modes = tuple(a.modes.split(",")) if a.modes else (("eager",) if cpu else ("eager", "graph"))
    s.duration = s.e2e_duration = a.duration if a.duration is not None else (0.15 if a.quick else 0.3)
    bad = [x for x in s.precisions if x not in PRECISIONS] + [x for x in s.modes if x not in ("eager", "graph")]
    if bad or min(s.batch_sizes) < 1 or ("graph" in s.modes and cpu):
        p.error(f"bad --precisions/--modes/--batch-sizes ({bad or s.modes}); CUDA graphs need --device cuda")
    out = a.out or (Path(os.environ["OUT"]) if os.environ.get("OUT") else None)
    return s, out


# --- timing primitives -------------------------------------------------------------------------


def sync(torch, device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_device(torch, device, fn, duration: float) -> list[float]:
    """Per-iteration milliseconds of ``fn``: CUDA events on a GPU, perf_counter on a CPU."""
    sync(torch, device)
    t0 = time.perf_counter()
    for _ in range(3):  # warm-up (cudnn autotuning, allocator) and a first estimate
        fn()
    sync(torch, device)
    est = max((time.perf_counter() - t0) / 3, 1e-6)
    iters = int(min(2000, max(5, duration / est)))
    if device.type != "cuda":
        times = []
        for _ in range(iters):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1e3)
        return times
    events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(iters)]
    for start, end in events:
        start.record()
        fn()
        end.record()
    sync(torch, device)
    return [start.elapsed_time(end) for start, end in events]


def time_wall(fn, duration: float) -> list[float]:
    """Per-call wall-clock milliseconds of a synchronous ``fn`` (it returns host data)."""
    fn()
    times, deadline = [], time.perf_counter() + duration
    while len(times) < 5 or (time.perf_counter() < deadline and len(times) < 2000):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return times


def stats(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms, dtype=np.float64)
    mean = float(a.mean())
    return {"min_ms": float(a.min()), "mean_ms": mean, "p50_ms": float(np.percentile(a, 50)),
            "p90_ms": float(np.percentile(a, 90)), "p95_ms": float(np.percentile(a, 95)),
            "p99_ms": float(np.percentile(a, 99)), "max_ms": float(a.max()),
            "cv": float(a.std() / mean) if mean > 0 else 0.0, "iterations": int(a.size)}


# --- peaks and model cost ----------------------------------------------------------------------


def set_precision_mode(torch, precision: str) -> None:
    # "fp32" means true fp32: cuDNN allows TF32 in convolutions by default, which would mislabel the row.
    allow = precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = allow
    torch.backends.cudnn.allow_tf32 = allow


def torch_dtype(torch, precision: str):
    return {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def measure_peaks(torch, device, precisions, quick: bool) -> dict[str, float]:
    """Matmul TFLOP/s per precision and device-to-device copy GB/s (bytes read + written)."""
    cuda = device.type == "cuda"
    peaks: dict[str, float] = {}
    for precision in precisions:
        set_precision_mode(torch, precision)
        size = (4096 if quick or precision == "fp32" else 8192) if cuda else 512
        try:
            a = torch.randn(size, size, device=device).to(torch_dtype(torch, precision))
            b = torch.randn(size, size, device=device).to(torch_dtype(torch, precision))
            ms = min(time_device(torch, device, lambda: torch.mm(a, b), 0.15 if quick else 0.3))
            peaks[f"{precision}_tflops"] = 2 * size**3 / (ms * 1e-3) / 1e12
        except RuntimeError as exc:  # e.g. a dtype the CPU build cannot multiply
            peaks[f"{precision}_tflops"] = float("nan")
            print(f"peak {precision}: {exc}", file=sys.stderr)
    nbytes = (256 << 20 if quick else 1 << 30) if cuda else 32 << 20
    src = torch.empty(nbytes, dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    ms = min(time_device(torch, device, lambda: dst.copy_(src), 0.15 if quick else 0.3))
    peaks["copy_gbps"] = 2 * nbytes / (ms * 1e-3) / 1e9
    set_precision_mode(torch, "fp32")
    return peaks


def count_cost(torch, model, latent_dim: int, device, dtype) -> tuple[float, float, float]:
    """(FLOPs per image, activation bytes per image, weight bytes) from one batch-1 forward with hooks."""
    from torch import nn

    flops, act_bytes = [0.0], [0.0]

    def hook(module, inputs, output):
        x = inputs[0]
        act_bytes[0] += x.numel() * x.element_size() + output.numel() * output.element_size()
        if isinstance(module, nn.ConvTranspose2d):  # every input element scatters into C_out/groups x k x k outputs
            k = module.kernel_size[0] * module.kernel_size[1]
            flops[0] += 2 * x.numel() * module.out_channels // module.groups * k
        elif isinstance(module, nn.Conv2d):  # every output element gathers C_in/groups x k x k inputs
            k = module.kernel_size[0] * module.kernel_size[1]
            flops[0] += 2 * output.numel() * module.in_channels // module.groups * k
        elif isinstance(module, nn.Linear):
            flops[0] += 2 * output.numel() * module.in_features

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        with torch.inference_mode():
            model(torch.zeros(1, latent_dim, device=device, dtype=dtype))
    finally:
        for h in handles:
            h.remove()
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    weights += sum(b.numel() * b.element_size() for b in model.buffers())
    return flops[0], act_bytes[0], float(weights)


# --- one model -----------------------------------------------------------------------------------


def build_model(torch, name: str, s: Settings, device, precision: str):
    from ganedge.artifacts.run_config import ModelConfig
    from ganedge.models import build_generator

    arch, _, size = name.partition("-")
    cfg = ModelConfig(arch=arch, latent_dim=s.latent_dim, image_shape=(3, int(size), int(size)), g_width=s.width)
    torch.manual_seed(0)
    model = build_generator(cfg).eval().requires_grad_(False).to(device=device, dtype=torch_dtype(torch, precision))
    if s.channels_last and arch != "mlp":
        model = model.to(memory_format=torch.channels_last)
    return model


def bench_config(torch, s: Settings, device, name: str, model, precision: str, mode: str, n: int) -> dict:
    from ganedge.sdk.backends.pytorch.convert import torch_uint8_nhwc

    dtype = torch_dtype(torch, precision)
    z_static = torch.randn(n, s.latent_dim, device=device).to(dtype)  # (n, latent)
    seed = [0]

    def next_latents() -> np.ndarray:
        seed[0] += n
        return latents(range(seed[0], seed[0] + n), s.latent_dim)

    if mode == "eager":
        compute = lambda: model(z_static)  # noqa: E731

        def e2e():
            z = torch.from_numpy(next_latents()).to(device=device, dtype=dtype)
            return torch_uint8_nhwc(model(z)).cpu().numpy()  # (n, H, W, C) uint8 on the host
    else:
        # Warm up on a side stream before capture, as torch.cuda.graph requires.
        side = torch.cuda.Stream(device=device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            for _ in range(3):
                torch_uint8_nhwc(model(z_static))
        torch.cuda.current_stream(device).wait_stream(side)
        g_compute, g_e2e = torch.cuda.CUDAGraph(), torch.cuda.CUDAGraph()
        with torch.cuda.graph(g_compute):
            model(z_static)
        with torch.cuda.graph(g_e2e):
            u8_static = torch_uint8_nhwc(model(z_static))
        compute = g_compute.replay

        def e2e():
            z_static.copy_(torch.from_numpy(next_latents()))  # H2D into the graph's static input
            g_e2e.replay()
            return u8_static.cpu().numpy()

    row = stats(time_device(torch, device, compute, s.duration))
    wall = stats(time_wall(e2e, s.e2e_duration))
    row["images_per_s"] = n / (row["mean_ms"] * 1e-3)
    row.update({f"e2e_{k}": v for k, v in wall.items() if k in ("p50_ms", "p99_ms", "mean_ms", "iterations")})
    row["e2e_images_per_s"] = n / (wall["mean_ms"] * 1e-3)
    return row


def bench_sdk(s: Settings, device) -> list[dict]:
    """The SDK's own torch backend, as an application calls it: sample(n, seed) -> uint8 on the host."""
    import tempfile

    rows = []
    for name in s.models:
        arch, _, size = name.partition("-")
        row = {"model": name, "backend": "sdk:torch", "device": str(device), "precision": "default", "mode": "default"}
        try:
            import torch

            from ganedge import sdk
            from ganedge.artifacts.run_dir import CONFIG_FILE, WEIGHTS_FILE, save_weights
            from ganedge.artifacts.run_config import ModelConfig, RunConfig
            from ganedge.models import build_discriminator, build_generator

            cfg = RunConfig(model=ModelConfig(arch=arch, latent_dim=s.latent_dim, image_shape=(3, int(size), int(size)),
                                              g_width=s.width, d_width=s.width))
            run_dir = Path(tempfile.mkdtemp(prefix=f"gpu-bench-{name}-"))
            (run_dir / CONFIG_FILE).write_text(cfg.to_json())
            torch.manual_seed(0)
            g = build_generator(cfg.model)
            ema = copy.deepcopy(g)  # safetensors refuses two names for one tensor's memory
            save_weights(run_dir / WEIGHTS_FILE, {"G": g, "G_ema": ema, "D": build_discriminator(cfg.model)})
            gen = sdk.load(str(run_dir), backend="torch", device=str(device))
            describe = getattr(gen, "describe", None)
            row["describe"] = json.loads(json.dumps(describe() if callable(describe) else {}, default=str))
        except Exception as exc:  # the SDK is another engineer's moving part: report, never abort the bench
            rows.append({**row, "batch_size": 0, "error": f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"})
            continue
        for n in s.batch_sizes:
            seed = [0]

            def call():
                seed[0] += n
                return gen.sample(n, seed=seed[0])

            try:
                wall = stats(time_wall(call, s.e2e_duration))
            except Exception as exc:
                rows.append({**row, "batch_size": n, "error": f"{type(exc).__name__}: {str(exc)[:160]}"})
                continue
            rows.append({**row, "batch_size": n, "e2e_images_per_s": n / (wall["mean_ms"] * 1e-3),
                         **{f"e2e_{k}": v for k, v in wall.items() if k in ("p50_ms", "p99_ms", "mean_ms", "iterations")}})
            print(f"{name:9} sdk:torch   b{n:<5} e2e {rows[-1]['e2e_images_per_s']:,.0f} img/s", flush=True)
        close = getattr(gen, "close", None)
        if callable(close):
            close()
    return rows


def run(s: Settings, report: dict) -> dict:
    """Fill ``report`` (owned by the caller, so an interrupted run keeps what it measured) and return it."""
    import torch

    device = torch.device(s.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"error: --device {s.device} but torch {torch.__version__} sees no CUDA GPU")
    torch.backends.cudnn.benchmark = True
    if s.threads:
        torch.set_num_threads(s.threads)
    machine = {"python": platform.python_version(), "torch": torch.__version__, "device": str(device),
               "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count()}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        machine.update(gpu=props.name, compute_capability=f"{props.major}.{props.minor}", cuda=torch.version.cuda,
                       gpu_memory_gb=round(props.total_memory / 2**30, 1), cudnn=torch.backends.cudnn.version())
    t0 = time.perf_counter()
    report.update(machine=machine, peak={}, settings=asdict(s), seconds=0.0, results=[], started=t0)
    peaks = measure_peaks(torch, device, s.precisions, s.quick)
    report["peak"] = peaks
    print("peaks: " + ", ".join(f"{k} {v:.4g}" for k, v in peaks.items()), flush=True)
    results = report["results"]
    for name in s.models:
        for precision in s.precisions:
            set_precision_mode(torch, precision)
            try:
                model = build_model(torch, name, s, device, precision)
                flops, act_bytes, weight_bytes = count_cost(torch, model, s.latent_dim, device,
                                                            torch_dtype(torch, precision))
            except (RuntimeError, ValueError) as exc:
                print(f"{name} {precision}: cannot build ({exc})", file=sys.stderr)
                continue
            peak = peaks.get(f"{precision}_tflops", float("nan")) * 1e12
            for mode in s.modes:
                for n in s.batch_sizes:
                    row = {"model": name, "backend": "torch", "device": str(device), "precision": precision,
                           "mode": mode, "batch_size": n, "channels_last": s.channels_last,
                           "flops_per_sample": flops, "bytes_per_sample": act_bytes + weight_bytes / n}
                    try:
                        with torch.inference_mode():
                            row.update(bench_config(torch, s, device, name, model, precision, mode, n))
                    except RuntimeError as exc:  # out of memory, an op missing for a dtype: report it, go on
                        row["error"] = " ".join(str(exc).split())[:200]
                        print(f"{name} {precision} {mode} b{n}: {row['error']}", file=sys.stderr)
                        results.append(row)
                        continue
                    achieved = flops * row["images_per_s"]
                    roof = min(peak, flops / row["bytes_per_sample"] * peaks["copy_gbps"] * 1e9)
                    row["pct_of_peak"] = 100 * achieved / peak if peak == peak and peak > 0 else None
                    row["pct_of_roofline"] = 100 * achieved / roof if roof == roof and roof > 0 else None
                    results.append(row)
                    print(f"{name:9} {precision:5} {mode:5} b{n:<5} {row['images_per_s']:>12,.0f} img/s "
                          f"(e2e {row['e2e_images_per_s']:,.0f})", flush=True)
            del model
            if device.type == "cuda":
                torch.cuda.empty_cache()
    if s.sdk:
        results += bench_sdk(s, device)
    return report


def format_table(report: dict) -> str:
    m, p = report["machine"], report["peak"]
    head = (f"{m.get('gpu', m['cpu'])} | torch {m['torch']} | peaks: "
            + ", ".join(f"{k.replace('_tflops', '')} {v:.3g} TFLOP/s" for k, v in p.items() if k.endswith("tflops"))
            + f", copy {p.get('copy_gbps', float('nan')):.3g} GB/s | {report['seconds']} s"
            + (" | INTERRUPTED: partial results" if report.get("interrupted") else ""))
    lines = [head, "",
             "| model | prec | mode | batch | img/s | p50 ms | p99 ms | e2e img/s | e2e p50 ms | e2e p99 ms | GFLOP/img | % peak | % roofline |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def pct(v):
        return "-" if v is None else f"{v:.1f}"

    for r in report["results"]:
        if r["backend"] != "torch" and "error" not in r:  # the SDK rows: end to end only
            lines.append(f"| {r['model']} | {r['backend']} | {r['mode']} | {r['batch_size']} | - | - | - "
                         f"| {r['e2e_images_per_s']:,.0f} | {r['e2e_p50_ms']:.3f} | {r['e2e_p99_ms']:.3f} | - | - | - |")
            continue
        if "error" in r:
            lines.append(f"| {r['model']} | {r['precision']} | {r['mode']} | {r['batch_size']} | error: {r['error'][:60]} |")
            continue
        lines.append(f"| {r['model']} | {r['precision']} | {r['mode']} | {r['batch_size']} | {r['images_per_s']:,.0f} "
                     f"| {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['e2e_images_per_s']:,.0f} | {r['e2e_p50_ms']:.3f} "
                     f"| {r['e2e_p99_ms']:.3f} | {r['flops_per_sample'] / 1e9:.3f} | {pct(r['pct_of_peak'])} "
                     f"| {pct(r['pct_of_roofline'])} |")
    return "\n".join(lines)


def _terminated(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    settings, out = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminated)  # `timeout` sends SIGTERM: still report what was measured
    report: dict = {}
    try:
        run(settings, report)
    except KeyboardInterrupt as exc:
        print(f"interrupted ({exc}); reporting the configurations measured so far", file=sys.stderr)
        report["interrupted"] = True
    if "results" not in report:
        return 1
    report["seconds"] = round(time.perf_counter() - report.pop("started"), 1)
    table = format_table(report)
    if out is not None:
        from ganedge.fsutil import ensure_writable_dir, write_text_atomic

        ensure_writable_dir(out)
        write_text_atomic(out / "gpu_bench.json", json.dumps(report, indent=1, default=str) + "\n")
        write_text_atomic(out / "gpu_bench.md", table + "\n")
        print(f"wrote {out / 'gpu_bench.json'} and {out / 'gpu_bench.md'}")
    print()
    print(table)
    return 0 if any("error" not in r for r in report["results"]) else 1


if __name__ == "__main__":
    sys.exit(main())
