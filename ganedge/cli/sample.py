"""``ganedge sample``: images for a list of seeds, as one grid PNG or one PNG per seed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from ganedge.click_types import SEEDS

MAX_GRID_IMAGES = 4096  # a bigger grid is a multi-gigapixel PNG nobody opens; --outdir scales
BACKEND_CHOICES = ("auto", "onnxruntime", "tensorrt", "torch")


def seed_filename(seed: int) -> str:
    """``seed000042.png``: zero-padded to 6 digits so a folder listing sorts by seed."""
    return f"seed{seed:06d}.png"


@click.command("sample")
@click.argument("model", metavar="MODEL", type=click.Path(path_type=Path))
@click.option("--seeds", type=SEEDS, default="0-63", show_default=True, metavar="SEEDS",
              help="Seeds to render: a range 0-63, a list 1,2,5-10, or one seed.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), metavar="GRID.png", default=None,
              help="Write all images as one grid PNG.")
@click.option("--outdir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR", default=None,
              help="Write one PNG per seed (seed000042.png); seeds whose file exists are skipped (resume).")
@click.option("--backend", type=click.Choice(BACKEND_CHOICES), default="auto", show_default=True,
              help="auto picks by the model's type: onnxruntime for .onnx, tensorrt for .engine/.plan, torch for a run dir.")
@click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda[:N]",
              help="Where to run; auto uses a GPU when the installed backend can.")
@click.option("--truncation", type=float, default=1.0, show_default=True, metavar="PSI",
              help="Scale each latent by PSI (1 = off; below 1: less variety, more typical images).")
@click.option("--label", type=click.IntRange(min=0), default=None, metavar="K",
              help="Class for every image (conditional models only; required for them).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, metavar="N",
              help="Images per backend call  [default: 64, or the engine's max]")
@click.option("--upscale", type=click.IntRange(1, 64), default=1, show_default=True, metavar="N",
              help="Repeat each pixel N times in both directions (for viewing small images).")
@click.option("--cols", type=click.IntRange(min=1), default=None, metavar="N",
              help="Grid columns  [default: near-square]")
@click.option("--threads", type=click.IntRange(min=1), default=None, metavar="N",
              help="CPU threads for the backend  [default: the cores this process may use]")
@click.option("--precision", type=click.Choice(("fp32", "bf16", "fp16")), default=None,
              help="Compute precision of the torch backend (run directories)  [default: fp32]")
@click.option("--overwrite", is_flag=True, help="With --outdir: render every seed, even those already written.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object describing what was written.")
def sample(model: Path, seeds: list[int], output: Path | None, outdir: Path | None, backend: str, device: str,
           truncation: float, label: int | None, batch_size: int | None, upscale: int, cols: int | None,
           threads: int | None, precision: str | None, overwrite: bool, as_json: bool) -> None:
    """Generate images for SEEDS from MODEL (.onnx, .engine/.plan or a run directory).

    Seed s always gives the same image, on every backend and at any batch size, so a
    grid and a folder of the same seeds hold the same pictures. PNGs are written
    atomically, so an interrupted --outdir run resumes where it stopped.

    \b
    Examples:
      ganedge sample model.onnx --seeds 0-63 -o grid.png
      ganedge sample model.onnx --seeds 1,2,5-10 --outdir samples/ --upscale 4
      ganedge sample model.engine --seeds 0-9999 --outdir big/ --batch-size 256
      ganedge sample runs/digits --label 7 --truncation 0.7 -o sevens.png
    """
    from ganedge import sdk
    from ganedge.errors import BadInputError
    from ganedge.fsutil import ensure_writable_dir
    from ganedge.images import save_grid, save_png

    if (output is None) == (outdir is None):
        raise click.UsageError("give exactly one of -o GRID.png or --outdir DIR")
    if output is not None and len(seeds) > MAX_GRID_IMAGES:
        raise BadInputError(f"a grid of {len(seeds)} images is too large (max {MAX_GRID_IMAGES}); use --outdir")
    ensure_writable_dir(outdir if outdir is not None else (output.parent if str(output.parent) else Path(".")))
    todo, skipped = seeds, 0
    if outdir is not None:
        unique = list(dict.fromkeys(seeds))  # a seed listed twice is one file
        todo = unique if overwrite else [s for s in unique if not (outdir / seed_filename(s)).is_file()]
        skipped = len(unique) - len(todo)

    options = {"precision": precision} if precision else {}
    started = time.perf_counter()
    with sdk.load(model, backend=backend, device=device, threads=threads, **options) as g:
        classes = g.manifest.num_classes
        if classes and label is None:
            raise BadInputError(f"{model} is conditional on {classes} classes: pass --label K (0..{classes - 1})")
        if not classes and label is not None:
            raise BadInputError(f"--label is for conditional models; {model} is unconditional")
        written = 0
        if output is not None:
            images = g.sample_seeds(seeds, batch_size=batch_size, truncation=truncation, labels=label)
            save_grid(output, images, cols=cols, upscale=upscale)
            written = 1
        else:
            step = batch_size or 64
            for i in range(0, len(todo), step):  # bounded memory: one batch of images at a time
                chunk = todo[i:i + step]
                images = g.sample_seeds(chunk, batch_size=batch_size, truncation=truncation, labels=label)
                for seed, image in zip(chunk, images):
                    save_png(outdir / seed_filename(seed), image, upscale=upscale)
                written += len(chunk)
        info = g.backend_info
    seconds = time.perf_counter() - started

    report = {"model": str(model), "backend": info["backend"], "device": info["device"],
              "precision": info["precision"], "seeds": len(seeds), "images_rendered": len(todo),
              "skipped_existing": skipped, "seconds": round(seconds, 3),
              "output": str(output) if output is not None else None,
              "outdir": str(outdir) if outdir is not None else None, "files_written": written}
    if as_json:
        click.echo(json.dumps(report, sort_keys=True))
        return
    where = f"grid {output}" if output is not None else f"{written} PNGs in {outdir}"
    extra = f" (skipped {skipped} already there)" if skipped else ""
    click.echo(f"wrote {where}{extra}: {len(todo)} images with {info['backend']} on {info['device']} "
               f"({info['precision']}) in {seconds:.2f} s")
