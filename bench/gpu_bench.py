"""The GPU benchmark preset: random DCGANs on the torch backend, timed by ``ganedge bench``'s engine.

    python -m ganedge.bench.gpu_bench                  # CUDA: dcgan-32, dcgan-64; fp32/bf16/fp16; eager and CUDA graphs
    python -m ganedge.bench.gpu_bench --quick          # a smaller grid
    python -m ganedge.bench.gpu_bench --device cpu --quick --models dcgan-32 --width 8   # the same code on a CPU

Nothing is measured here: this module writes randomly initialised run directories
(:func:`ganedge.models.random_run.write_random_run`; speed does not depend on training) and
hands them to :func:`ganedge.bench.core.run_bench`, one model at a time, so a run cut short by
a timeout still reports the models it finished. Per configuration the engine times, interleaved:

* end to end, what an application sees: ``Generator.sample`` (seeds -> latents -> copy in ->
  G -> uint8 on the GPU -> one copy out);
* the generator alone (``--compute``), by CUDA events around the forward pass or graph replay
  (``device_compute_ms``; the ``gpu img/s`` column and ``compute_*`` fields).

The peak (GEMMs per precision, device-to-device copy) is probed once; FLOPs come from torch's
FlopCounterMode and bytes from the layers' inputs and outputs (``bench/flops.py``), giving
``pct_of_peak`` and ``pct_of_roofline``. The same sweep from the CLI, on run dirs of your own:

    ganedge bench RUN... --device cuda --precisions fp32,bf16,fp16 --modes eager,graphs \\
        --batch-sizes 1,8,64,256,1024 --compute --no-cold-start

Reports: the bench table on stdout (last), ``gpu_bench.json`` / ``gpu_bench.md`` (the bench's
JSON and Markdown) in ``--out`` or ``$OUT``.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import tempfile
from pathlib import Path

import click

from ganedge.bench.core import BenchConfig, BenchResult, run_bench
from ganedge.click_types import IntList

FULL_BATCHES, QUICK_BATCHES = "1,8,64,256,1024", "1,64,1024"


@dataclasses.dataclass(frozen=True)
class Preset:
    """What to sweep; ``None`` fields take the device's defaults (see :meth:`resolved`)."""

    device: str = "cuda"
    models: tuple[str, ...] = ("dcgan-32", "dcgan-64")  # ARCH-SIZE
    width: int | None = None
    batch_sizes: tuple[int, ...] | None = None
    precisions: tuple[str, ...] | None = None
    modes: tuple[str, ...] | None = None
    duration_s: float | None = None
    threads: int | None = None
    quick: bool = False
    cold_start: bool = False

    def resolved(self) -> "Preset":
        cpu = self.device == "cpu"
        return dataclasses.replace(
            self,
            batch_sizes=self.batch_sizes or tuple(int(b) for b in (QUICK_BATCHES if self.quick else FULL_BATCHES).split(",")),
            precisions=self.precisions or (("fp32",) if cpu else ("fp32", "bf16") if self.quick else ("fp32", "bf16", "fp16")),
            modes=self.modes or (("eager",) if cpu else ("eager", "graphs")),
            duration_s=self.duration_s or (0.15 if self.quick else 0.3))

    def config(self, run_dir: Path) -> BenchConfig:
        # Three slices: ratios stay interleaved, and the bench's idle pause before each slice (for CPU
        # thread pools) costs little of the GPU's time budget.
        return BenchConfig(models=(str(run_dir),), precisions=self.precisions, modes=self.modes,
                           batch_sizes=self.batch_sizes, duration_s=self.duration_s,
                           warmup_s=min(0.3, self.duration_s), min_calls=5, slices=3, device=self.device,
                           threads=self.threads, cold_start=self.cold_start, compute_only=True,
                           peak_probe_s=min(1.0, max(self.duration_s, 0.05)))


def write_models(preset: Preset, folder: Path) -> list[Path]:
    """One random run dir per ``ARCH-SIZE``, named after it (the model column of the table)."""
    from ganedge.errors import BadInputError
    from ganedge.models.random_run import write_random_run

    runs = []
    for name in preset.models:
        arch, _, size = name.partition("-")
        if not size.isdigit():
            raise BadInputError(f"--models: {name!r} is not ARCH-SIZE, e.g. dcgan-32")
        runs.append(write_random_run(folder / name, arch, int(size), width=preset.width))
    return runs


def run_preset(preset: Preset, folder: Path, say=print) -> tuple[BenchResult | None, bool]:
    """Every model's sweep, merged into one result; ``(result, interrupted)``."""
    from ganedge.bench.rows import summary_lines

    merged: BenchResult | None = None
    config = None
    try:
        for run_dir in write_models(preset, folder):
            config = preset.config(run_dir)
            say(f"== {run_dir.name}: {len(config.precisions)} precision(s) x {len(config.modes)} mode(s) "
                f"x {len(config.batch_sizes)} batch size(s) on {preset.device}")
            result = run_bench(config, log=say, peak=merged.peak if merged else None)
            if merged is None:
                merged = result
            else:
                merged.results += result.results
                merged.warnings += result.warnings
    except KeyboardInterrupt as exc:
        say(f"interrupted ({exc}); reporting the models measured so far")
        if merged is not None:
            merged.warnings.append("interrupted: partial results (the models listed were finished)")
        return merged, True
    if merged is not None and config is not None:
        merged.summary = summary_lines(merged.results, config)
    return merged, False


def _terminated(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@click.command()
@click.option("--device", default="cuda", show_default=True, metavar="cuda|cuda:N|cpu")
@click.option("--models", default="dcgan-32,dcgan-64", show_default=True, metavar="ARCH-SIZE,...")
@click.option("--width", type=click.IntRange(min=1), default=None, metavar="N", help="Generator width  [default: the architecture's]")
@click.option("--batch-sizes", type=IntList(), default=None, metavar="INTS", help=f"[default: {FULL_BATCHES}; quick: {QUICK_BATCHES}]")
@click.option("--precisions", default=None, metavar="LIST", help="[default: fp32,bf16,fp16; quick: fp32,bf16; cpu: fp32]")
@click.option("--modes", default=None, metavar="LIST", help="eager,graphs  [default: both on CUDA; cpu: eager]")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None, metavar="S",
              help="Timed seconds per configuration  [default: 0.3; quick: 0.15]")
@click.option("--threads", type=click.IntRange(min=1), default=None, metavar="N", help="CPU threads")
@click.option("--quick", is_flag=True, help="Fewer configurations and shorter timings.")
@click.option("--cold-start", is_flag=True, help="Also measure load + first call in a fresh process per configuration.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
              help="Folder for gpu_bench.json and gpu_bench.md  [default: $OUT if set]")
def main(device, models, width, batch_sizes, precisions, modes, duration, threads, quick, cold_start, out) -> None:
    """Benchmark random DCGANs on the torch backend (eager and CUDA graphs, fp32/bf16/fp16) through ganedge bench."""
    from ganedge.bench.report import format_table, to_json, to_markdown
    from ganedge.errors import GanEdgeError
    from ganedge.fsutil import ensure_writable_dir, write_text_atomic

    def split(text):
        return tuple(v.strip() for v in text.split(",") if v.strip()) if text else None

    preset = Preset(device=device, models=split(models), width=width, batch_sizes=tuple(batch_sizes or ()) or None,
                    precisions=split(precisions), modes=split(modes), duration_s=duration, threads=threads,
                    quick=quick, cold_start=cold_start).resolved()
    out = out or (Path(os.environ["OUT"]) if os.environ.get("OUT") else None)
    signal.signal(signal.SIGTERM, _terminated)  # `timeout` sends SIGTERM: still report what was measured
    try:
        with tempfile.TemporaryDirectory(prefix="ganedge-gpu-bench-") as tmp:
            result, _ = run_preset(preset, Path(tmp), say=lambda m: click.echo(m, err=True))
    except GanEdgeError as exc:  # one line, no traceback, as the ganedge CLI does
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    if result is None or not result.results:
        sys.exit(1)
    if out is not None:
        ensure_writable_dir(out)
        write_text_atomic(out / "gpu_bench.json", to_json(result))
        write_text_atomic(out / "gpu_bench.md", to_markdown(result))
        click.echo(f"wrote {out / 'gpu_bench.json'} and {out / 'gpu_bench.md'}")
    click.echo()
    click.echo(format_table(result))


if __name__ == "__main__":
    main()
