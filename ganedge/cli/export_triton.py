"""``ganedge export triton``: an ONNX file or TensorRT engine -> a Triton Inference Server model repository."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ganedge.click_types import IntList

KIND_CHOICES = ("KIND_AUTO", "KIND_GPU", "KIND_CPU")


def next_steps(result) -> list[str]:
    """Next steps for the user: serve, check, load-test."""
    manifest = result.manifest
    lines = [f"serve:     tritonserver --model-repository {result.repository.resolve()}",
             f"check:     curl localhost:8000/v2/models/{result.name}/config"]
    if result.max_batch > 0:
        # Every dim is fixed once the batch dim is Triton's, so perf_analyzer needs no --shape.
        zero = " --input-data zero" if manifest.conditional else ""  # random labels fall outside [0, num_classes)
        lines.append(f"load test: perf_analyzer -m {result.name} -b 1 --concurrency-range 1:64:8{zero}")
    return lines


@click.command("triton")
@click.argument("model", metavar="MODEL", type=click.Path(path_type=Path))
@click.option("-o", "--output", "repository", required=True, metavar="REPO_DIR", type=click.Path(path_type=Path),
              help="Model repository folder (created if missing); the model goes to REPO_DIR/NAME/.")
@click.option("--name", default=None, metavar="NAME",
              help="Model name in Triton (folder name).  [default: MODEL's file name without suffixes]")
@click.option("--max-batch", type=click.IntRange(min=0), default=None, metavar="N",
              help="max_batch_size; 0 turns batching off.  [default: 64 for ONNX, the engine profile's MAX]")
@click.option("--max-queue-delay-us", type=click.IntRange(min=0), default=None, metavar="US",
              help="Dynamic batcher: how long a request may wait for others to join its batch.  [default: 100]")
@click.option("--preferred-batch-sizes", type=IntList(minimum=1), default=None, metavar="4,8",
              help="Dynamic batcher: batch sizes to prefer (each <= --max-batch).  [default: none, Triton "
                   "batches as large as it can]")
@click.option("--max-queue-size", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Reject requests beyond N waiting (like sdk.Batcher's max_queue); 0 = unbounded.")
@click.option("--instances", type=click.IntRange(min=1), default=1, show_default=True, metavar="N",
              help="Model instances (instance_group count) per device.")
@click.option("--kind", type=click.Choice(KIND_CHOICES), default=None,
              help="Where instances run.  [default: KIND_GPU for engines, KIND_AUTO (GPU when present) for ONNX]")
@click.option("--version", "version", type=click.IntRange(min=1), default=1, show_default=True, metavar="N",
              help="Version folder to write the model into.")
@click.option("--warmup/--no-warmup", default=True, show_default=True,
              help="Add a model_warmup request, so the first client does not pay for initialisation.")
@click.option("--force", is_flag=True,
              help="Replace REPO_DIR/NAME if it exists (the new folder is built first, then swapped in).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object describing what was written.")
def triton_cmd(model: Path, repository: Path, name: str | None, max_batch: int | None, max_queue_delay_us: int | None,
               preferred_batch_sizes: list[int] | None, max_queue_size: int, instances: int, kind: str | None,
               version: int, warmup: bool, force: bool, as_json: bool) -> None:
    """Write a Triton model repository for MODEL (.onnx, or a TensorRT .engine/.plan with its sidecar).

    The config declares the model's real inputs and outputs (z FP32 [latent], label INT64
    [1] reshaped to a scalar for conditional models, image FP32 [C, H, W]; no batch dim when
    --max-batch > 0), dynamic batching, instances, a warm-up request and the ganedge manifest
    (parameter "ganedge_manifest", and NAME/ganedge.json). For an engine, --max-batch may not
    exceed its profile's MAX. The folder is built aside and renamed into place.

    \b
    Examples:
      ganedge export triton model.onnx -o model_repository
      ganedge export triton model.onnx -o repo --name gan --max-batch 64 --preferred-batch-sizes 16,64
      ganedge export triton model.engine -o repo --max-queue-delay-us 500 --instances 2
      ganedge export triton model.onnx -o repo --kind KIND_CPU --max-queue-size 256 --force --json
    """
    from ganedge.export.triton import TritonOptions, write_repository

    options = TritonOptions(name=name, max_batch=max_batch, max_queue_delay_us=max_queue_delay_us,
                            preferred_batch_sizes=tuple(preferred_batch_sizes or ()), max_queue_size=max_queue_size,
                            instances=instances, kind=kind, version=version, warmup=warmup, force=force)
    result = write_repository(model, repository, options)
    if as_json:
        click.echo(json.dumps({**result.to_dict(), "usage": next_steps(result)}, sort_keys=True))
        return
    verb = "replaced" if result.replaced else "wrote"
    click.echo(f"{verb} {result.model_dir} ({result.platform}, max_batch_size {result.max_batch}): "
               f"{', '.join(result.files)}")
    for line in next_steps(result):
        click.echo(f"  {line}")
