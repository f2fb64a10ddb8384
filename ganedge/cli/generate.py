"""``ganedge generate``: many labelled images as resumable shards, on local processes or Ray."""

from __future__ import annotations

import json
from pathlib import Path

import click

BACKEND_CHOICES = ("auto", "onnxruntime", "tensorrt", "torch")
FORMAT_CHOICES = ("webdataset", "folder", "npz")


@click.command("generate")
@click.argument("model", metavar="MODEL", type=click.Path(path_type=Path))
@click.option("--count", type=int, default=None, metavar="N",
              help="Images to generate (may be left out with --labels FILE, whose counts define it).")
@click.option("-o", "--output", "out", required=True, type=click.Path(file_okay=False, path_type=Path), metavar="OUT",
              help="Output folder: new or empty, or a job to continue with --resume.")
@click.option("--seed", type=int, default=0, show_default=True, metavar="S", help="First seed; image j has seed S+j.")
@click.option("--labels", default=None, metavar="balanced|K|FILE",
              help="Conditional models: balanced (counts differ by at most 1), one class K (id or name), or a CSV/JSON "
                   "of per-class counts.  [default: balanced]")
@click.option("--truncation", type=float, default=1.0, show_default=True, metavar="PSI",
              help="Scale each latent by PSI (1 = off).")
@click.option("--shard-size", type=int, default=10_000, show_default=True, metavar="N", help="Images per shard.")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="webdataset", show_default=True,
              help="webdataset: NNNNNN.tar of <seed>.png/.json(/.cls); folder: OUT/<class>/NNNNNN/<seed>.png; "
                   "npz: NNNNNN.npz of images/seeds/labels.")
@click.option("--workers", type=int, default=None, metavar="N",
              help="Local worker processes, or Ray actors  [default: usable cores; Ray: cluster CPUs / threads]")
@click.option("--threads-per-worker", type=int, default=None, metavar="T",
              help="Backend threads in each worker  [default: cores / workers; Ray: 1]")
@click.option("--ray", default=None, metavar="auto|ADDRESS",
              help="Run the shards as Ray actors: auto = the running cluster (or a local instance if none), or an "
                   "address such as ray://head:10001. Needs pip install 'ganedge[ray]'.")
@click.option("--resume", is_flag=True, help="Continue the job in OUT (same arguments); complete shards are kept.")
@click.option("--batch-size", type=int, default=64, show_default=True, metavar="B", help="Images per model call.")
@click.option("--backend", type=click.Choice(BACKEND_CHOICES), default="auto", show_default=True,
              help="auto picks by the model's type.")
@click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda[:N]", help="Where each worker runs.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or notes (errors still go to stderr).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object describing the job at the end.")
def generate(model: Path, count: int | None, out: Path, seed: int, labels: str | None, truncation: float,
             shard_size: int, fmt: str, workers: int | None, threads_per_worker: int | None, ray: str | None,
             resume: bool, batch_size: int, backend: str, device: str, quiet: bool, as_json: bool) -> None:
    """Generate COUNT images from MODEL (.onnx, .engine/.plan or a run directory) into OUT as shards.

    Shard i holds seeds SEED + i*SHARD_SIZE onwards: a pure function of the model, seeds, labels
    and truncation. OUT/plan.json is written first, each shard appears atomically with its own
    index NNNNNN.json (seeds, labels, sha256), and OUT/index.json when all are done. Killed at any
    moment, the same command with --resume finishes the job with every seed written exactly once.

    \b
    Examples:
      ganedge generate model.onnx --count 100000 -o out/
      ganedge generate cond.onnx --count 2000000 --labels balanced --shard-size 10000 -o big/ --resume
      ganedge generate cond.onnx --labels counts.csv --format folder -o imagefolder/
      ganedge generate model.onnx --count 5000000 -o /shared/out --ray auto
    """
    from ganedge.generate import GenerateOptions
    from ganedge.generate import generate as run_job

    options = GenerateOptions(model=model, out=out, count=count, seed=seed, labels=labels, truncation=truncation,
                              shard_size=shard_size, format=fmt, workers=workers, threads_per_worker=threads_per_worker,
                              ray=ray, resume=resume, batch_size=batch_size, backend=backend, device=device)
    report = run_job(options, progress=not quiet and not as_json, say=None if not (quiet or as_json) else lambda _: None)
    if as_json:
        click.echo(json.dumps(report, sort_keys=True))
        return
    if not quiet:
        before = report["shards_complete_before"]
        kept = f" ({before} shards were already complete)" if before else ""
        click.echo(f"wrote {report['images_rendered']} images in {report['shards_rendered']} shards to {report['out']}"
                   f"{kept}: {report['count']} images in {report['shards']} {report['format']} shards, "
                   f"{report['images_per_s']} images/s with {report['workers']} {report['executor']} workers")
