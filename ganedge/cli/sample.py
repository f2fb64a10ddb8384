"""``ganedge sample``: images for a list of seeds (one grid image, or one PNG per seed), walks through seeds
(GIF, WebP, MP4 or one PNG per frame) and grids of interpolations."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from click.core import ParameterSource

from ganedge.cli.params import module_load_options, module_options, require_reference
from ganedge.cli.sample_motion import parse_label
from ganedge.click_types import SEEDS
from ganedge.sdk.backends import BACKEND_CHOICES

MAX_GRID_IMAGES = 4096  # a bigger grid is a multi-gigapixel PNG nobody opens; --outdir scales


def seed_filename(seed: int) -> str:
    """``seed000042.png``: zero-padded to 6 digits so a folder listing sorts by seed."""
    return f"seed{seed:06d}.png"


def _check_installed(model: Path, backend: str, mp4: bool) -> None:
    """The model's cheap checks, then its runtime and, for an MP4 walk, the video writer: every missing extra
    named at once, before anything loads."""
    from ganedge.extras import require_all
    from ganedge.sdk.loader import preflight

    require_all((*preflight(str(model), backend), *(("imageio", "imageio_ffmpeg") if mp4 else ())), "ganedge sample")


@click.command("sample")
@click.argument("model", metavar="MODEL", type=click.Path(path_type=Path))
@click.option("--seeds", type=SEEDS, default="0-63", show_default=True, metavar="SEEDS",
              help="Seeds to render: a range 0-63, a list 1,2,5-10, or one seed.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE", default=None,
              help="A grid image (.png, .jpg/.jpeg or .webp: the extension picks the format); with --walk an "
                   "animation (.gif, .webp or .mp4).")
@click.option("--outdir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR", default=None,
              help="Write one PNG per seed (seed000042.png; seeds whose file exists are skipped, so a run resumes), "
                   "or with --walk one per frame (frame000000.png).")
@click.option("--walk", default=None, metavar="SEEDS",
              help="Walk through these seeds in order (e.g. 3,17,42), --frames frames per step.")
@click.option("--frames", type=int, default=30, show_default=True, metavar="N",
              help="With --walk: frames from one seed to the next.")
@click.option("--loop", is_flag=True, help="With --walk: return from the last seed to the first (a seamless loop).")
@click.option("--fps", type=float, default=25.0, show_default=True, metavar="FPS",
              help="With --walk -o: playback speed (GIF: at most 50).")
@click.option("--interp-grid", default=None, metavar="SEEDS",
              help="A grid of interpolations: one row per neighbouring pair (seed i -> seed i+1), --steps across.")
@click.option("--steps", type=int, default=8, show_default=True, metavar="N",
              help="With --interp-grid: images per row, both seeds included.")
@click.option("--mode", default="slerp", show_default=True, metavar="slerp|lerp",
              help="With --walk/--interp-grid: spherical or linear interpolation of the latents.")
@click.option("--backend", type=click.Choice(BACKEND_CHOICES), default="auto", show_default=True,
              help="auto picks by the model's type: onnxruntime for .onnx (or the fastest CPU runtime measured, "
                   "with --precision), tensorrt for .engine/.plan, torch for a run dir.")
@click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda[:N]",
              help="Where to run; auto uses a GPU when the installed backend can.")
@click.option("--truncation", type=float, default=1.0, show_default=True, metavar="PSI",
              help="Scale each latent by PSI (1 = off; below 1: less variety, more typical images).")
@click.option("--label", default=None, metavar="K|NAME",
              help="Class for every image: an index, or a class name where the model has them (conditional models "
                   "only; required for them). With --walk/--interp-grid a comma list gives one class per seed.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, metavar="N",
              help="Images per backend call  [default: 64, or the engine's max]")
@click.option("--upscale", "--scale", "upscale", type=click.IntRange(1, 64), default=1, show_default=True, metavar="N",
              help="Repeat each pixel N times in both directions (nearest; for viewing small images).")
@click.option("--cols", type=click.IntRange(min=1), default=None, metavar="N",
              help="Grid columns  [default: near-square]")
@click.option("--threads", type=click.IntRange(min=1), default=None, metavar="N",
              help="CPU threads for the backend  [default: the cores this process may use]")
@click.option("--precision", type=click.Choice(("fp32", "bf16", "fp16", "auto")), default=None,
              help="Compute precision: torch (run directories) fp32|bf16|fp16; openvino fp32|bf16|auto; with "
                   "--backend auto on an .onnx file, any of fp32|bf16|auto lets auto time the CPU runtimes "
                   "(images then agree within the precision gates, not bit for bit across batch sizes)  "
                   "[default: fp32, onnxruntime for .onnx]")
@click.option("--overwrite", is_flag=True, help="With --outdir: render every seed, even those already written.")
@module_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object describing what was written.")
def sample(model: Path, seeds: list[int], output: Path | None, outdir: Path | None, walk: str | None,
           frames: int, loop: bool, fps: float, interp_grid: str | None, steps: int, mode: str, backend: str,
           device: str, truncation: float, label: str | None, batch_size: int | None, upscale: int, cols: int | None,
           threads: int | None, precision: str | None, overwrite: bool, latent_dim, weights, num_classes,
           output_range, class_names_file, as_json: bool) -> None:
    """Generate images for SEEDS from MODEL (.onnx, .engine/.plan, a run directory or a module reference).

    Seed s always gives the same image, on every backend and at any batch size, so a
    grid and a folder of the same seeds hold the same pictures. Files are written
    atomically, so an interrupted --outdir run resumes where it stopped. A walk's
    frames are a pure function of its seeds, --frames, --mode and --loop; each
    frame that lands on a seed is that seed's image.

    \b
    Examples:
      ganedge sample model.onnx --seeds 0-63 -o grid.png
      ganedge sample model.onnx --seeds 1,2,5-10 --outdir samples/ --upscale 4
      ganedge sample model.engine --seeds 0-9999 --outdir big/ --batch-size 256
      ganedge sample runs/digits --label 7 --truncation 0.7 -o sevens.jpg
      ganedge sample model.onnx --walk 3,17,42 --frames 60 --loop -o walk.gif --scale 4
      ganedge sample model.onnx --walk 3,17,42 --frames 60 -o walk.mp4     # pip install 'ganedge[video]'
      ganedge sample model.onnx --interp-grid 0-7 --steps 8 -o interp.png
    """
    from ganedge import sdk

    _check_modes(click.get_current_context(), walk, interp_grid)
    walk, interp_grid = _seed_list(walk), _seed_list(interp_grid)  # errors in one line, as the SDK's
    _check_installed(model, backend, mp4=walk is not None and output is not None and output.suffix.lower() == ".mp4")
    _check_request(seeds, output, outdir, walk, interp_grid, frames, steps, fps)
    todo, skipped = seeds, 0
    if outdir is not None and walk is None:
        unique = list(dict.fromkeys(seeds))  # a seed listed twice is one file
        todo = unique if overwrite else [s for s in unique if not (outdir / seed_filename(s)).is_file()]
        skipped = len(unique) - len(todo)

    options = {"precision": precision} if precision else {}
    described = module_load_options(latent_dim, weights, num_classes, output_range, class_names_file)
    require_reference((model,), described)
    options.update(described)
    started = time.perf_counter()
    with sdk.load(str(model), backend=backend, device=device, threads=threads, **options) as g:
        _check_label(g, model, label)
        where = {"output": str(output) if output is not None else None,
                 "outdir": str(outdir) if outdir is not None else None}
        if walk is not None or interp_grid is not None:
            args = dict(frames=frames, loop=loop, fps=fps, steps=steps, mode=mode, truncation=truncation,
                        batch_size=batch_size, output=output, outdir=outdir, upscale=upscale, quiet=as_json)
            report = _motion(g, walk, interp_grid, label, args)
            report.update({"model": str(model), "backend": g.backend, "device": g.device, "precision": g.precision,
                           **where})
            click.echo(json.dumps(report, sort_keys=True) if as_json else _motion_line(report))
            return
        draw = dict(batch_size=batch_size, truncation=truncation, labels=parse_label(g.manifest, label))
        written = _render_stills(g, seeds, todo, output, outdir, draw, cols=cols, upscale=upscale)
        info = g.backend_info
    seconds = time.perf_counter() - started

    report = {"model": str(model), "backend": info["backend"], "device": info["device"],
              "precision": info["precision"], "seeds": len(seeds), "images_rendered": len(todo),
              "skipped_existing": skipped, "seconds": round(seconds, 3), **where, "files_written": written}
    if as_json:
        click.echo(json.dumps(report, sort_keys=True))
        return
    target = f"grid {output}" if output is not None else f"{written} PNGs in {outdir}"
    extra = f" (skipped {skipped} already there)" if skipped else ""
    click.echo(f"wrote {target}{extra}: {len(todo)} images with {info['backend']} on {info['device']} "
               f"({info['precision']}) in {seconds:.2f} s")


def _check_request(seeds, output, outdir, walk, interp_grid, frames: int, steps: int, fps: float) -> None:
    """Everything about the request that can fail before the model loads, in one line each."""
    from ganedge.errors import BadInputError
    from ganedge.fsutil import ensure_writable_dir
    from ganedge.images import image_format

    if walk is not None and frames < 1:
        raise BadInputError(f"--frames must be >= 1 (frames from one seed to the next), got {frames}")
    if interp_grid is not None and steps < 2:
        raise BadInputError(f"--steps must be >= 2 (both seeds are in every row), got {steps}")
    if walk is not None:
        from ganedge.cli.sample_motion import check_walk_output

        check_walk_output(output, outdir, fps)
    elif (output is None) == (outdir is None) or (interp_grid is not None and output is None):
        raise click.UsageError("give exactly one of -o FILE or --outdir DIR" if interp_grid is None
                               else "--interp-grid writes one grid image: give -o FILE (.png, .jpg or .webp)")
    if walk is None and output is not None:
        image_format(output)  # an unknown extension fails now, not after rendering
    if output is not None and len(seeds) > MAX_GRID_IMAGES:
        raise BadInputError(f"a grid of {len(seeds)} images is too large (max {MAX_GRID_IMAGES}); use --outdir")
    ensure_writable_dir(outdir if outdir is not None else (output.parent if str(output.parent) else Path(".")))


def _check_label(g, model, label) -> None:
    from ganedge.errors import BadInputError

    classes = g.manifest.num_classes
    if classes and label is None:
        names = f"; classes: {', '.join(g.manifest.class_names)}" if g.manifest.class_names else ""
        raise BadInputError(f"{model} is conditional on {classes} classes: pass --label K (0..{classes - 1}){names}")
    if not classes and label is not None:
        raise BadInputError(f"--label is for conditional models; {model} is unconditional")


def _render_stills(g, seeds, todo, output, outdir, draw: dict, cols, upscale: int) -> int:
    """A grid of ``seeds`` at ``output``, or one PNG per seed of ``todo`` in ``outdir``; files written."""
    from ganedge.images import save_grid, save_png

    if output is not None:
        save_grid(output, g.sample_seeds(seeds, **draw), cols=cols, upscale=upscale)
        return 1
    written, step = 0, draw["batch_size"] or 64
    for i in range(0, len(todo), step):  # bounded memory: one batch of images at a time
        chunk = todo[i:i + step]
        for seed, image in zip(chunk, g.sample_seeds(chunk, **draw)):
            save_png(outdir / seed_filename(seed), image, upscale=upscale)
        written += len(chunk)
    return written


MOTION_ONLY = {"frames": "--walk", "loop": "--walk", "fps": "--walk", "steps": "--interp-grid",
               "mode": "--walk or --interp-grid"}


def _seed_list(text: str | None) -> list[int] | None:
    from ganedge.seeds import parse_seeds

    return None if text is None else parse_seeds(text)


def _check_modes(ctx: click.Context, walk, interp_grid) -> None:
    """Options that belong to another mode are refused rather than silently ignored."""
    from ganedge.errors import BadInputError

    given = {name for name in ctx.params if ctx.get_parameter_source(name) != ParameterSource.DEFAULT}
    if walk is not None and interp_grid is not None:
        raise BadInputError("give --walk or --interp-grid, not both")
    if (walk is not None or interp_grid is not None) and "seeds" in given:
        raise BadInputError("--seeds is for grids and folders; --walk and --interp-grid take their own seeds")
    for name, needs in MOTION_ONLY.items():
        owner_given = (walk is not None and "--walk" in needs) or (interp_grid is not None and "--interp-grid" in needs)
        if name in given and not owner_given:
            raise BadInputError(f"--{name} only applies with {needs}")


def _motion(g, walk, interp_grid, label, args: dict) -> dict:
    from ganedge.cli import sample_motion

    seeds = walk if walk is not None else interp_grid
    label = parse_label(g.manifest, label, keys=len(seeds))
    if walk is not None:
        return sample_motion.render_walk(g, walk, args["frames"], args["loop"], args["mode"], args["truncation"], label,
                                         args["batch_size"], args["output"], args["outdir"], args["fps"],
                                         args["upscale"], args["quiet"])
    return sample_motion.render_interp_grid(g, interp_grid, args["steps"], args["mode"], args["truncation"], label,
                                            args["batch_size"], args["output"], args["upscale"], MAX_GRID_IMAGES)


def _motion_line(report: dict) -> str:
    target = report["output"] or f"{report['frames']} PNGs in {report['outdir']}"
    what = f"walk of {report['frames']} frames" if "rows" not in report else \
        f"interpolation grid of {report['rows']} x {report['steps']}"
    rate = f", {report['frames_per_s']} frames/s" if report.get("frames_per_s") else ""
    return (f"wrote {what} to {target} ({report['bytes']:,} bytes) with {report['backend']} on {report['device']} "
            f"({report['precision']}) in {report['seconds']:.2f} s{rate}")
