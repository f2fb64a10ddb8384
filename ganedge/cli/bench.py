"""``ganedge bench``: backends x precisions x batch sizes, interleaved, with quality beside speed."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ganedge.cli.params import module_load_options, module_options, require_reference
from ganedge.errors import BadInputError
from ganedge.sdk.backends import BACKEND_NAMES

PRECISION_CHOICES = ("fp32", "bf16", "fp16")
MODE_CHOICES = ("eager", "graphs")


def parse_list(text: str, option: str, choices: tuple[str, ...] | None = None) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(v.strip() for v in text.split(",") if v.strip()))
    if not items:
        raise BadInputError(f"{option} is empty; give a comma-separated list such as {','.join(choices or ('1', '8'))}")
    bad = [v for v in items if choices and v not in choices]
    if bad:
        raise BadInputError(f"{option}: {bad[0]!r} is not one of {', '.join(choices)}")
    return items


def parse_batch_sizes(text: str) -> tuple[int, ...]:
    sizes = []
    for item in parse_list(text, "--batch-sizes"):
        if not item.isdigit() or int(item) < 1:
            raise BadInputError(f"--batch-sizes: {item!r} is not a positive integer; use e.g. 1,8,64,256")
        sizes.append(int(item))
    return tuple(sorted(set(sizes)))


def _check_outputs(paths: dict[str, Path | None], plot: Path | None) -> None:
    """Fail before a long run, not after it: folders must be writable, --plot needs matplotlib."""
    from ganedge.fsutil import ensure_writable_dir

    for option, path in paths.items():
        if path is None or str(path) == "-":
            continue
        if path.is_dir():
            raise BadInputError(f"{option} {path} is a folder; give a file name")
        ensure_writable_dir(path.parent if str(path.parent) else Path("."))
    if plot is not None:  # before minutes of measuring, not after
        from ganedge.extras import require

        require("matplotlib", "--plot")


@click.command("bench")
@click.argument("models", nargs=-1, required=True, metavar="MODEL...", type=click.Path(path_type=Path))
@click.option("--backends", default=None, metavar="LIST",
              help="Backends to include, of " + ",".join(BACKEND_NAMES) + ": .onnx runs on onnxruntime (and on "
                   "openvino when listed), .engine on tensorrt, a run dir on torch  [default: each MODEL on its own]")
@click.option("--precisions", default="fp32,bf16", show_default=True, metavar="LIST",
              help="Precisions for run dirs on torch (fp32, bf16; fp16 on CUDA) and for fp32/fp16 ONNX files on "
                   "openvino (fp32, bf16 where the CPU executes it natively). onnxruntime and TensorRT run a file "
                   "at the precision it was exported with; openvino runs an int8 file once (float layers: auto).")
@click.option("--modes", default="eager", show_default=True, metavar="LIST",
              help="Run dirs and TensorRT engines: eager and/or graphs (CUDA graphs, captured per batch size; CUDA only).")
@click.option("--batch-sizes", default="1,8,64", show_default=True, metavar="LIST", help="Images per call.")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=2.0, show_default=True,
              metavar="S", help="Timed seconds per configuration (a minimum; cut into interleaved slices).")
@click.option("--warmup", type=click.FloatRange(min=0), default=0.3, show_default=True, metavar="S",
              help="Untimed warm-up seconds per configuration (at least 2 calls).")
@click.option("--min-calls", type=click.IntRange(min=1), default=5, show_default=True, metavar="N",
              help="Timed calls per configuration (a minimum, like trtexec --iterations).")
@click.option("--slices", type=click.IntRange(min=1), default=10, show_default=True, metavar="N",
              help="Interleaved slices each configuration's duration is cut into (A B C A B C ...).")
@click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda[:N]",
              help="Where to run; auto uses a GPU when the installed backend can.")
@click.option("--threads", type=click.IntRange(min=1), default=None, metavar="N",
              help="CPU threads per backend and for the peak probe  [default: the cores this process may use]")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True, metavar="N",
              help="First seed (timing and quality).")
@click.option("--quality", is_flag=True, help="Measure PSNR against fp32 (same seeds) and FD per variant.")
@click.option("--quality-n", type=click.IntRange(min=2), default=512, show_default=True, metavar="N",
              help="Images per variant for --quality.")
@click.option("--no-fd", is_flag=True, help="With --quality: PSNR only (FD needs the metrics network).")
@click.option("--min-psnr", type=float, default=30.0, show_default=True, metavar="DB",
              help="Quality budget for the summary: minimum PSNR against fp32.")
@click.option("--max-fd-increase", type=click.FloatRange(min=0), default=0.10, show_default=True, metavar="FRAC",
              help="Quality budget for the summary: largest FD increase over fp32 (0.10 = 10%).")
@click.option("--concurrency", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Also run N client threads, direct vs through sdk.Batcher (0 = off).")
@click.option("--max-delay-ms", type=click.FloatRange(min=0), default=2.0, show_default=True, metavar="MS",
              help="With --concurrency: the Batcher's max queue delay.")
@click.option("--max-cv", type=click.FloatRange(min=0, min_open=True), default=0.10, show_default=True,
              metavar="FRAC", help="Warn when per-call times vary more than this (coefficient of variation).")
@click.option("--compute/--no-compute", "compute_only", default=None,
              help="Also time generate(z) alone (no latents, no uint8)  [default: on for CUDA only]")
@click.option("--cold-start/--no-cold-start", default=True, show_default=True,
              help="Measure load + first call and peak memory in a fresh process per configuration.")
@click.option("--roofline/--no-roofline", default=True, show_default=True,
              help="Measure the machine's GEMM peak and count FLOPs for %-of-peak.")
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None, metavar="FILE",
              help="Write the JSON report ('-': print it to stdout, the table then goes to stderr).")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), default=None, metavar="FILE", help="Write CSV rows.")
@click.option("--md", "md_path", type=click.Path(path_type=Path), default=None, metavar="FILE",
              help="Write a Markdown report.")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path), default=None, metavar="FILE.png",
              help="Plot throughput and p99 latency vs batch size.")
@module_options
@click.option("--quiet", is_flag=True, help="No progress bar or status lines.")
def bench(models, backends, precisions, modes, batch_sizes, duration, warmup, min_calls, slices, device, threads, seed,
          quality, quality_n, no_fd, min_psnr, max_fd_increase, concurrency, max_delay_ms, max_cv, compute_only,
          cold_start, roofline, json_path, csv_path, md_path, plot_path, latent_dim, weights, num_classes,
          output_range, class_names_file, quiet) -> None:
    """Benchmark MODEL... (run dirs, module references FILE.py:NAME, .onnx files, TensorRT engines)
    across backends, precisions and batch sizes.

    Configurations are timed in interleaved slices (A B C A B C ...) so machine drift hits
    all alike; warm-up is excluded. Per configuration: images/s, latency
    min/mean/p50/p90/p95/p99/max per call (end to end, uint8 images on the host), the
    coefficient of variation (warned about above --max-cv), cold start and peak memory (a
    fresh process per configuration), and % of this machine's measured GEMM peak.

    \b
    Examples:
      ganedge bench model.onnx model.fp16.onnx model.int8.onnx --batch-sizes 1,8,64,256
      ganedge bench runs/scenes --precisions fp32,bf16 --duration 5 --plot bench.png
      ganedge bench runs/scenes model.onnx model.int8.onnx --quality --min-psnr 35 --md bench.md
      ganedge bench model.onnx --concurrency 16 --max-delay-ms 2 --json -
      ganedge bench runs/scenes --device cuda --precisions fp32,bf16,fp16 --modes eager,graphs
      ganedge bench model.onnx model.int8.onnx --no-cold-start --no-roofline   # int8 vs fp32, side by side
      ganedge bench my_gan/models.py:build_generator g.onnx g.fp16.onnx --latent-dim 512 --weights G.safetensors
      ganedge bench runs/scenes model.onnx model.int8.onnx --backends torch,onnxruntime,openvino --threads 1
    """
    from ganedge.bench.core import BenchConfig, run_bench
    from ganedge.bench.report import format_table, to_json, write_reports

    described = module_load_options(latent_dim, weights, num_classes, output_range, class_names_file)
    require_reference(models, described)
    config = BenchConfig(
        models=tuple(str(m) for m in models),
        backends=parse_list(backends, "--backends", BACKEND_NAMES) if backends else (),
        precisions=parse_list(precisions, "--precisions", PRECISION_CHOICES),
        modes=parse_list(modes, "--modes", MODE_CHOICES),
        batch_sizes=parse_batch_sizes(batch_sizes), duration_s=duration, warmup_s=warmup, min_calls=min_calls,
        slices=slices, device=device, threads=threads, seed=seed, cold_start=cold_start, roofline=roofline,
        compute_only=compute_only, quality=quality, quality_n=quality_n, fd=not no_fd, min_psnr=min_psnr,
        max_fd_increase=max_fd_increase, concurrency=concurrency, max_delay_ms=max_delay_ms, max_cv=max_cv,
        module_options=described)
    _check_outputs({"--json": json_path, "--csv": csv_path, "--md": md_path, "--plot": plot_path}, plot_path)
    json_to_stdout = json_path is not None and str(json_path) == "-"

    def status(message: str) -> None:
        if not quiet:
            click.echo(message, err=True)

    result = run_bench(config, progress=not quiet, log=status)
    write_reports(result, None if json_to_stdout else json_path, csv_path, md_path, plot_path)
    click.echo(format_table(result), err=json_to_stdout)
    if json_to_stdout:
        sys.stdout.write(to_json(result))
    for option, path in (("json", json_path), ("csv", csv_path), ("md", md_path), ("plot", plot_path)):
        if path is not None and not (option == "json" and json_to_stdout):
            status(f"wrote {path}")
