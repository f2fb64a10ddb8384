"""Generate a labelled data set as resumable shards, from Python: the ``ganedge.generate`` API.

    python examples/batch_generate.py model.onnx out/ --count 100000 --format folder
    # killed, Ctrl-C'd or out of time? Run the same command again: it resumes where it stopped.

The plan of shards, atomic writes, resume checks, worker processes and Ray all live in
``ganedge.generate`` (the ``ganedge generate`` command); docs/generate.md explains them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ganedge.cli.main import run_command


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--count", type=int, default=1000, show_default=True, help="Images to generate.")
@click.option("--shard-size", type=int, default=10_000, show_default=True, help="Images per shard.")
@click.option("--format", "fmt", default="folder", show_default=True, help="webdataset, folder or npz.")
@click.option("--workers", type=int, default=None, help="Worker processes [default: usable cores].")
def main(model: Path, out: Path, count: int, shard_size: int, fmt: str, workers: int | None) -> None:
    """Write COUNT images of MODEL into OUT; rerun the same command to resume.

    \b
    Examples:
      python examples/batch_generate.py model.onnx out/ --count 100000
      python examples/batch_generate.py cond.onnx shards/ --count 2000000 --format webdataset --workers 8
    """
    from ganedge.generate import GenerateOptions, generate

    options = GenerateOptions(model=model, out=out, count=count, shard_size=shard_size, format=fmt, workers=workers,
                              resume=True)
    report = generate(options, progress=False, say=lambda line: None)
    click.echo(json.dumps({key: report[key] for key in ("out", "count", "images_rendered", "shards_complete_before",
                                                         "images_per_s")}))


if __name__ == "__main__":
    run_command(main, sys.argv[1:], Path(sys.argv[0]).name)
