"""Write one PNG per seed, for as many seeds as you like, resumably.

    python examples/batch_generate.py model.onnx --seeds 0-99999 --outdir out/
    # killed, Ctrl-C'd or out of time? Run the same command again: it skips the seeds already on disk.

How it stays resumable: every PNG is written to a hidden temporary file, flushed and renamed onto
``seed000042.png`` (``ganedge.images.save_png``), so a file with the final name is always a whole
image, and a kill at any moment leaves at most a hidden ``.seed*.tmp`` (removed on the next run).
``outdir/ganedge-batch.json`` records the model and settings; a second run with another model or
other settings is refused instead of mixing two sets of images in one folder.

Speed: the model renders batch N+1 while a thread pool encodes and writes batch N (PNG encoding
and fsync release the GIL), so on small models the disk, not the model, sets the pace.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import click

from ganedge.cli.main import run_command
from ganedge.click_types import SEEDS
from ganedge.cli.sample import seed_filename  # seed000042.png: the same names as `ganedge sample --outdir`
from ganedge.errors import BadInputError

RECORD_FILE = "ganedge-batch.json"


def model_fingerprint(path: Path) -> str:
    """sha256 of the artifact (of weights.safetensors for a run directory): which model made the images."""
    from ganedge.artifacts.manifest import sha256_file

    return sha256_file(path / "weights.safetensors" if path.is_dir() else path)


def check_record(outdir: Path, record: dict, overwrite: bool) -> None:
    """Refuse to resume into a folder written with another model or settings."""
    from ganedge.fsutil import write_text_atomic

    path = outdir / RECORD_FILE
    if path.is_file() and not overwrite:
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = None
        if not isinstance(previous, dict):
            raise BadInputError(f"{path} is unreadable; delete it (or pass --overwrite) to use {outdir}")
        differs = [k for k in record if previous.get(k) != record[k]]
        if differs:
            raise BadInputError(f"{outdir} holds images made with another {', '.join(differs)} "
                                f"({previous.get(differs[0])!r} vs {record[differs[0]]!r}); choose another --outdir, "
                                "or pass --overwrite to render every seed again")
    write_text_atomic(path, json.dumps(record, indent=1, sort_keys=True) + "\n")


def remove_stale_temporaries(outdir: Path) -> int:
    """Hidden temporaries a killed run left (``.seed000042.png.<random>.tmp``); never a finished PNG."""
    stale = list(outdir.glob(".seed*.png.*.tmp"))
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def is_whole_png(path: Path) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()  # decodes every row: a truncated file fails here
        return True
    except Exception:  # PIL raises OSError, SyntaxError, ValueError... for damaged files
        return False


def plan(seeds: list[int], outdir: Path, overwrite: bool, check_existing: bool) -> tuple[list[int], int, int]:
    """(seeds to render, seeds skipped, damaged files found). A seed listed twice is one file."""
    unique = list(dict.fromkeys(seeds))
    if overwrite:
        return unique, 0, 0
    todo, damaged = [], 0
    for seed in unique:
        path = outdir / seed_filename(seed)
        if not path.is_file():
            todo.append(seed)
        elif check_existing and not is_whole_png(path):
            damaged += 1
            todo.append(seed)
    return todo, len(unique) - len(todo), damaged


def generate(g, todo: list[int], outdir: Path, batch_size: int, workers: int, truncation: float, label: int | None,
             upscale: int, progress) -> int:
    """Render ``todo`` in batches, writing each batch's PNGs on ``workers`` threads; returns files written."""
    from ganedge.images import save_png

    written = 0
    pending: list[Future] = []

    def drain(futures: list[Future]) -> None:
        nonlocal written
        for future in futures:
            future.result()  # re-raises a write error (OutputError) here, in order
            written += 1
        progress.update(written)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="png") as pool:
        try:
            for start in range(0, len(todo), batch_size):
                chunk = todo[start:start + batch_size]
                images = g.sample_seeds(chunk, batch_size=batch_size, truncation=truncation, labels=label)  # (m, H, W, C)
                drain(pending)  # the previous batch's files: written while this one rendered
                pending = [pool.submit(save_png, outdir / seed_filename(seed), image, upscale)
                           for seed, image in zip(chunk, images)]
            drain(pending)
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return written


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("model", metavar="MODEL", type=click.Path(path_type=Path))
@click.option("--seeds", type=SEEDS, default="0-999", show_default=True, metavar="SEEDS",
              help="Seeds to render: a range 0-9999, a list 1,2,5-10, or one seed.")
@click.option("--outdir", required=True, type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Folder for seedNNNNNN.png files (created if missing).")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True, metavar="N",
              help="Images per model call.")
@click.option("--workers", type=click.IntRange(1, 64), default=4, show_default=True, metavar="N",
              help="Threads encoding and writing PNGs.")
@click.option("--truncation", type=click.FloatRange(0, 10), default=1.0, show_default=True, metavar="PSI",
              help="Scale each latent by PSI (1 = off).")
@click.option("--label", type=click.IntRange(min=0), default=None, metavar="K", help="Class (conditional models).")
@click.option("--upscale", type=click.IntRange(1, 64), default=1, show_default=True, metavar="N",
              help="Repeat each pixel N times (for viewing small images).")
@click.option("--backend", default="auto", show_default=True, metavar="B", help="auto, onnxruntime, tensorrt or torch.")
@click.option("--device", default="auto", show_default=True, metavar="D", help="auto, cpu, cuda or cuda:N.")
@click.option("--threads", type=click.IntRange(min=1), default=None, metavar="N", help="CPU threads for the backend.")
@click.option("--overwrite", is_flag=True, help="Render every seed again, even those on disk.")
@click.option("--check-existing", is_flag=True, help="Decode files already on disk and redo damaged ones.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object at the end.")
def main(model, seeds, outdir, batch_size, workers, truncation, label, upscale, backend, device, threads, overwrite,
         check_existing, quiet, as_json):
    """Write one PNG per seed of MODEL into DIR; rerun the same command to resume.

    \b
    Examples:
      python examples/batch_generate.py model.onnx --seeds 0-9999 --outdir out/
      python examples/batch_generate.py model.engine --seeds 0-999999 --outdir big/ --batch-size 256 --workers 8
      python examples/batch_generate.py runs/digits --label 3 --seeds 0-99 --outdir threes/ --upscale 4
    """
    from ganedge import sdk
    from ganedge.fsutil import ensure_writable_dir
    from ganedge.progress import Progress

    started = time.perf_counter()
    ensure_writable_dir(outdir)
    stale = remove_stale_temporaries(outdir)
    with sdk.load(model, backend=backend, device=device, threads=threads) as g:
        m = g.manifest
        if m.conditional and label is None:
            raise BadInputError(f"{model} is conditional on {m.num_classes} classes: pass --label K (0..{m.num_classes - 1})")
        if not m.conditional and label is not None:
            raise BadInputError(f"--label is for conditional models; {model} is unconditional")
        record = {"model_sha256": model_fingerprint(model), "precision": g.precision, "truncation": truncation,
                  "label": label, "upscale": upscale}
        check_record(outdir, record, overwrite)
        todo, skipped, damaged = plan(seeds, outdir, overwrite, check_existing)
        progress = Progress(total=len(todo), label="images", enabled=not quiet and not as_json)
        try:
            written = generate(g, todo, outdir, batch_size, workers, truncation, label, upscale, progress)
        except KeyboardInterrupt:
            progress.close()
            click.echo(f"interrupted after {progress.position} of {len(todo)} images; run the same command to "
                       "resume", err=True)
            sys.exit(130)
        progress.close()
        info = g.backend_info
    seconds = time.perf_counter() - started
    report = {"outdir": str(outdir), "seeds": len(seeds), "written": written, "skipped_existing": skipped,
              "damaged_redone": damaged, "stale_temporaries_removed": stale, "seconds": round(seconds, 3),
              "images_per_s": round(written / seconds, 1) if written else 0.0, "backend": info["backend"],
              "device": info["device"]}
    if as_json:
        click.echo(json.dumps(report, sort_keys=True))
    else:
        click.echo(f"wrote {written} PNGs to {outdir} in {seconds:.1f} s ({report['images_per_s']} images/s); "
                   f"skipped {skipped} already there")


def run() -> None:
    """Entry point: a GanEdgeError is one line on stderr and its exit code (2 bad input, 1 failed check)."""
    run_command(main, sys.argv[1:], Path(sys.argv[0]).name)


if __name__ == "__main__":
    run()
