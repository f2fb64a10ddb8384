"""``ganedge sample --walk`` and ``--interp-grid``: walks through seeds as animations or frames, and grids of
interpolations. The frames come from ``Generator.walk`` / ``Generator.interpolate``, so they are the SDK's."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ganedge.errors import BadInputError


def frame_filename(index: int) -> str:
    return f"frame{index:06d}.png"


def parse_label(manifest, text: str | None, keys: int | None = None) -> Any:
    """``--label`` text -> what the SDK takes: a class name where the model has one by that exact name, else an
    index. With ``keys`` (walks, grids), a comma list gives one class per seed."""
    if text is None:
        return None
    names = manifest.class_names or ()
    if keys is not None and "," in text and text not in names:
        parts = [parse_label(manifest, part.strip()) for part in text.split(",")]
        if len(parts) != keys:
            raise BadInputError(f"--label {text!r}: give one class, or one per seed ({keys})")
        return parts
    if text in names:
        return text
    try:
        return int(text)
    except ValueError:
        return text  # the SDK names the valid classes


def check_walk_output(output: Path | None, outdir: Path | None, fps: float) -> None:
    """Fail on a bad target before the model loads (and before the MP4 extra is needed at the end)."""
    from ganedge.animation import animation_format, check_fps, import_video_writer

    if (output is None) == (outdir is None):
        raise BadInputError("--walk writes an animation (-o walk.gif|.webp|.mp4) or frames (--outdir DIR): give one")
    if output is not None:
        fmt = animation_format(output)
        check_fps(fmt, fps)
        if fmt == "MP4":
            import_video_writer()


def _progress(total: int, quiet: bool):
    from ganedge.progress import Progress

    return Progress(total=total, label="frame", enabled=not quiet and sys.stderr.isatty())


def render_walk(g, seeds: list[int], frames: int, loop: bool, mode: str, truncation: float, label: Any,
                batch_size: int | None, output: Path | None, outdir: Path | None, fps: float, upscale: int,
                quiet: bool) -> dict[str, Any]:
    from ganedge.animation import AnimationWriter
    from ganedge.images import save_png
    from ganedge.sdk.navigate import frame_count

    batches = g.walk(seeds, frames, mode=mode, loop=loop, truncation=truncation, labels=label, batch_size=batch_size)
    total = frame_count(len(seeds), frames, loop)
    started, done = time.perf_counter(), 0
    with _progress(total, quiet) as bar:
        if output is not None:
            with AnimationWriter(output, fps=fps, upscale=upscale) as writer:
                for batch in batches:
                    writer.write(batch)
                    done += batch.shape[0]
                    bar.update(done)
        else:
            for batch in batches:
                for image in batch:
                    save_png(outdir / frame_filename(done), image, upscale=upscale)
                    done += 1
                bar.update(done)
    seconds = time.perf_counter() - started
    size = output.stat().st_size if output is not None else sum(
        (outdir / frame_filename(i)).stat().st_size for i in range(done))
    return {"frames": done, "seconds": round(seconds, 3), "frames_per_s": round(done / seconds, 1) if seconds else None,
            "bytes": size, "loop": loop, "mode": mode, "fps": fps if output is not None else None}


def render_interp_grid(g, seeds: list[int], steps: int, mode: str, truncation: float, label: Any,
                       batch_size: int | None, output: Path, upscale: int, max_images: int) -> dict[str, Any]:
    """One row per pair of neighbouring seeds (seed i -> seed i+1), ``steps`` frames across."""
    from ganedge.images import save_grid

    if len(seeds) < 2:
        raise BadInputError("--interp-grid needs at least 2 seeds (one row per neighbouring pair), e.g. 0-7")
    rows = len(seeds) - 1
    if isinstance(steps, int) and rows * steps > max_images:
        raise BadInputError(f"a grid of {rows} x {steps} images is too large (max {max_images}); "
                            "use fewer seeds or --steps")
    pairs_labels = label if isinstance(label, list) else [label] * len(seeds)
    if len(pairs_labels) != len(seeds):
        raise BadInputError(f"--label: give one class, or one per seed ({len(seeds)})")
    started = time.perf_counter()
    images = [g.interpolate(a, b, steps, mode=mode, truncation=truncation, batch_size=batch_size,
                            labels=None if pairs_labels[i] is None else (pairs_labels[i], pairs_labels[i + 1]))
              for i, (a, b) in enumerate(zip(seeds, seeds[1:]))]
    grid = np.concatenate(images)
    save_grid(output, grid, cols=steps, upscale=upscale)
    seconds = time.perf_counter() - started
    return {"rows": rows, "steps": steps, "frames": int(grid.shape[0]), "seconds": round(seconds, 3),
            "bytes": output.stat().st_size, "mode": mode}
