"""The whole of ganedge in one script: train -> export -> verify -> sample -> bench.

    python examples/pipeline.py --workdir pipeline-out                 # a few minutes on a laptop
    python examples/pipeline.py --workdir /tmp/smoke --quick           # seconds: a smoke test of every stage

Each stage uses the Python API a user would call from their own code, and the script stops
at the first stage that fails (the export gate and the verify check fail loudly). Output:

    WORKDIR/run/               the training run (config, weights, samples/)
    WORKDIR/model.onnx         the validated export (+ model.fp16.onnx ... with --precision)
    WORKDIR/grid.png           16 samples from the ONNX file
    WORKDIR/bench.json/.md     speed of the run directory (torch) and each export (onnxruntime)
    WORKDIR/pipeline.json      what happened, with each stage's time
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from ganedge.cli.main import run_command
from ganedge.click_types import IntList
from ganedge.errors import ValidationError, VerifyError


class Stages:
    """Prints each stage as it starts and records how long it took."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def run(self, name: str, what: str, fn, *args, **kwargs):
        click.echo(f"[{len(self.seconds) + 1}] {name}: {what}", err=True)
        t0 = time.perf_counter()
        result = fn(*args, **kwargs)
        self.seconds[name] = round(time.perf_counter() - t0, 3)
        click.echo(f"    done in {self.seconds[name]:.1f} s", err=True)
        return result


def train_stage(run_dir: Path, arch: str, dataset: str, image_size: int, latent_dim: int, width: int | None,
                steps: int, batch_size: int, seed: int, quiet: bool, threads: int | None):
    from ganedge.data import load_dataset
    from ganedge.artifacts.run_config import ModelConfig, RunConfig, TrainConfig
    from ganedge.train.loop import train

    data = load_dataset(dataset, image_size=image_size, seed=seed)
    model = ModelConfig(arch=arch, latent_dim=latent_dim, image_shape=tuple(data.image_shape), g_width=width,
                        d_width=width)
    every = max(1, steps // 4)
    config = RunConfig(model=model, dataset=dataset,
                       train=TrainConfig(steps=steps, batch_size=batch_size, seed=seed, log_every=every,
                                         sample_every=steps or 1, checkpoint_every=steps or 1))
    return train(config, run_dir, dataset=data, quiet=quiet, threads=threads)


def export_stage(run_dir: Path, output: Path, precisions: tuple[str, ...], fd: bool):
    from ganedge.export.pipeline import ExportOptions, export_onnx

    result = export_onnx(run_dir, output, ExportOptions(precisions=precisions, fd=fd),
                         log=lambda line: click.echo(f"    {line}", err=True))
    if not result.passed:
        raise ValidationError(result.failure_summary())
    return result


def verify_stage(run_dir: Path, model: Path, seeds: int):
    from ganedge.export.verify import verify_artifacts

    result = verify_artifacts(run_dir, model, list(range(seeds)), device="cpu")
    for line in result.report_lines():
        click.echo(f"    {line}", err=True)
    if not result.passed:
        raise VerifyError(f"{model} differs from {run_dir} beyond tolerance")
    return result


def sample_stage(model: Path, grid: Path, n: int):
    from ganedge import sdk
    from ganedge.images import save_grid

    with sdk.load(model) as g:
        images = g.sample(n, seed=0)  # uint8 (n, H, W, C), seeds 0..n-1
        # Seeds, not batches, decide images: seed 5 alone is image 5 of the batch.
        assert (g.sample(1, seed=5)[0] == images[5]).all(), "seed 5 rendered differently alone"
        save_grid(grid, images, upscale=max(1, 128 // g.manifest.width))
        return {"backend": g.backend, "device": g.device, "shape": list(images.shape)}


def bench_stage(models: list[Path], batch_sizes: tuple[int, ...], duration: float, quick: bool, workdir: Path,
                threads: int | None):
    from ganedge.bench import BenchConfig, format_table, run_bench, write_reports

    config = BenchConfig(models=tuple(str(m) for m in models), precisions=("fp32",), batch_sizes=batch_sizes,
                         duration_s=duration, warmup_s=min(0.3, duration), cold_start=not quick,
                         roofline=not quick, slices=3 if quick else 10, min_calls=3 if quick else 5, threads=threads)
    result = run_bench(config, log=lambda line: click.echo(f"    {line}", err=True))
    write_reports(result, json_path=workdir / "bench.json", md_path=workdir / "bench.md")
    click.echo(format_table(result), err=True)
    return result


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--workdir", required=True, type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Where everything goes; must be new or empty.")
@click.option("--dataset", default="scenes", show_default=True, metavar="scenes|digits|PATH", help="Training data.")
@click.option("--arch", type=click.Choice(["mlp", "dcgan", "resnet"]), default="dcgan", show_default=True)
@click.option("--image-size", type=click.IntRange(8, 128), default=32, show_default=True, metavar="PX")
@click.option("--latent-dim", type=click.IntRange(1, 1024), default=128, show_default=True, metavar="N")
@click.option("--width", type=click.IntRange(1, 1024), default=None, metavar="N",
              help="G and D base channels  [default: the arch's]")
@click.option("--steps", type=click.IntRange(min=1), default=2000, show_default=True, metavar="N", help="Training steps.")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True, metavar="N",
              help="Training batch size.")
@click.option("--precision", default="fp32", show_default=True, metavar="fp32[,fp16,int8]",
              help="Export precisions (each must pass its gate).")
@click.option("--bench-batch-sizes", type=IntList(), default="1,8,64", show_default=True, metavar="1,8,64")
@click.option("--bench-duration", type=click.FloatRange(0, min_open=True), default=2.0, show_default=True,
              metavar="S", help="Timed seconds per benchmark configuration.")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True, metavar="INT")
@click.option("--threads", type=click.IntRange(min=1), default=None, metavar="N",
              help="CPU threads for training and the benchmark  [default: the cores this process may use]")
@click.option("--quick", is_flag=True,
              help="Smoke test: 20 steps of a tiny 16x16 model, a 0.1 s bench, no cold-start or roofline probes.")
def main(workdir, dataset, arch, image_size, latent_dim, width, steps, batch_size, precision, bench_batch_sizes,
         bench_duration, seed, threads, quick):
    """Train a GAN, export it, verify the export, sample it and benchmark it, in one go.

    \b
    Examples:
      python examples/pipeline.py --workdir out
      python examples/pipeline.py --workdir out --dataset digits --arch mlp --steps 5000 --precision fp32,fp16
      python examples/pipeline.py --workdir /tmp/smoke --quick
    """
    from ganedge.errors import BadInputError
    from ganedge.export.pipeline import parse_precisions

    if quick:
        image_size, latent_dim, width, steps, batch_size = 16, 32, width or 8, min(steps, 20), min(batch_size, 16)
        bench_batch_sizes, bench_duration = [1, 8], min(bench_duration, 0.1)
    precisions, _ = parse_precisions(precision)
    if workdir.exists() and (not workdir.is_dir() or any(workdir.iterdir())):
        raise BadInputError(f"--workdir {workdir} exists and is not empty; choose a new folder")
    run_dir, model = workdir / "run", workdir / "model.onnx"
    stages = Stages()
    started = time.perf_counter()

    trained = stages.run("train", f"{arch} on {dataset}, {steps} steps of batch {batch_size}", train_stage, run_dir,
                         arch, dataset, image_size, latent_dim, width, steps, batch_size, seed, quiet=quick,
                         threads=threads)
    exported = stages.run("export", f"ONNX {', '.join(precisions)} with the validation gate", export_stage, run_dir,
                          model, precisions, fd=not quick)
    files = [v.path for v in exported.variants if v.written]
    verified = stages.run("verify", "the fp32 export against PyTorch on 64 seeds", verify_stage, run_dir,
                          files[0], 64)
    sampled = stages.run("sample", "16 seeds from the ONNX file with ganedge.sdk", sample_stage, files[0],
                         workdir / "grid.png", 16)
    benched = stages.run("bench", f"run dir (torch) and {len(files)} export(s) at batch sizes {bench_batch_sizes}",
                         bench_stage, [run_dir, *files], tuple(bench_batch_sizes), bench_duration, quick, workdir,
                         threads)

    summary = {
        "workdir": str(workdir), "seconds": stages.seconds, "total_seconds": round(time.perf_counter() - started, 3),
        "train": {"steps": trained.step, "metrics": trained.metrics, "samples": trained.sample_grid},
        "export": [{"precision": v.precision, "path": str(v.path), "passed": v.gate.passed if v.gate else None}
                   for v in exported.variants if v.written],
        "verify": {"passed": verified.passed, "max_abs_error": verified.stats.max_abs,
                   "max_uint8_diff": verified.images.max_level},
        "sample": {"grid": str(workdir / "grid.png"), **sampled},
        "bench": [{k: row.get(k) for k in ("model", "backend", "precision", "batch_size", "images_per_s", "p50_ms")}
                  for row in benched.results],
    }
    from ganedge.fsutil import write_text_atomic

    write_text_atomic(workdir / "pipeline.json", json.dumps(summary, indent=1, sort_keys=True, default=str) + "\n")
    click.echo(json.dumps(summary, sort_keys=True, default=str))


def run() -> None:
    """Entry point: a GanEdgeError is one line on stderr and its exit code (2 bad input, 1 failed check)."""
    run_command(main, sys.argv[1:], Path(sys.argv[0]).name)


if __name__ == "__main__":
    run()
