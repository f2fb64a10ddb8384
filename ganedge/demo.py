"""``make demo``: train a GAN on procedural scenes in a few CPU minutes and show what it learned.

    python -m ganedge.demo [--minutes 5] [--out demo-out] [--seed 0]

Stages (each prints its wall time):

1. train: FD of the untrained generator, a time-boxed run, FD at the end, the sample grid;
2. export: G_ema to ONNX fp32 and int8, each through its validation gate;
3. sample: 64 seeds from the ONNX file through ``ganedge.sdk``, checked against PyTorch;
4. bench: PyTorch vs ONNX fp32 vs ONNX int8 at batch 1 and 64, side by side;
5. walk: a looping walk through 6 seeds from the ONNX file, ``walk.gif`` at 4x beside the grid.

The whole of ``make demo`` must stay within 10 minutes on a 2-core machine, venv setup
included, so training gets :data:`TRAIN_MINUTES`.

Why this configuration. Training is compute-bound: a 2-core CPU does about 4,500 steps of
this model in 5 minutes. Measured on the project machine with equal CPU budgets (450 CPU-s,
FD against 2,000 real scenes at the run's size, lower is better; noisy by about +-0.3):

  32x32 DCGAN/SN-ResNet, lr 2e-4 ...................... FD 9.4 / 20.5 (multi-coloured blobs)
  16x16 DCGAN w32, SN, lr 2e-4 ........................ FD 5.7 (blobs)
  16x16 DCGAN w32, SN, lr 1e-3 ........................ FD 2.7 (flat objects, some shapes)
  16x16 DCGAN w32, no SN, lazy R1 (gamma 1), lr 1e-3 .. FD 2.2 (squares, triangles, circles)
  the same at lr 1.5e-3 ............................... sharper triangles and squares (by eye)

so: 16x16 images (4x the steps of 32x32; the shapes stay legible at 16 px), a DCGAN pair at
width 32 (cheaper per step than the SN-ResNet at the same quality), a high learning rate with
Adam (0, 0.99), R1 instead of spectral norm (lets D sharpen edges sooner), hinge loss, batch 32
and an EMA of G with a short horizon, because the run is short. Width 48 or batch 16 did worse
at this budget; DiffAugment is off (it fights overfitting to small datasets; scenes are unlimited).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganedge.train.presets import PRESETS

TRAIN_MINUTES = 5.0  # training's share of make demo's 10 minutes (setup ~2, later stages ~1.5, FD ~0.5)
IMAGE_SIZE = 16
FD_SAMPLES = 2000  # generated images scored at step 0 and at the end
FD_SEED = 1_000_000  # latent seeds FD_SEED.. (the grid uses seeds 0..63)
SCENES_OPTIONS: dict[str, Any] = {}  # the scenes dataset's defaults are designed for this demo
# The recipe is `ganedge train --preset fast` (ganedge.train.presets), defined once for both.
MODEL = dict(latent_dim=128, **PRESETS["fast"].section("model"))
TRAIN = dict(log_every=100, sample_every=1000, checkpoint_every=1000, **PRESETS["fast"].section("train"))
WALK_SEEDS = (0, 1, 2, 3, 4, 5)  # six of the grid's seeds
WALK_FRAMES = 24  # frames per seed-to-seed step: 144 frames, 5.8 s a loop at 25 frames/s
WALK_SCALE = 4


@dataclass
class DemoTraining:
    run_dir: Path
    grid: Path
    steps: int
    steps_per_s: float
    train_seconds: float
    fd_start: float
    fd_end: float
    fd_net: str


def demo_config(minutes: float, steps: int | None, seed: int):
    from ganedge.artifacts.run_config import ModelConfig, RunConfig, TrainConfig

    model = ModelConfig(image_shape=(3, IMAGE_SIZE, IMAGE_SIZE), **MODEL)
    train = TrainConfig(minutes=minutes, steps=steps, seed=seed, **TRAIN)
    return RunConfig(model=model, train=train, dataset="scenes", dataset_options=dict(SCENES_OPTIONS))


def make_evaluator(seed: int, n: int):
    """FD against n real scenes, in the features of the committed scenes feature net."""
    from ganedge.metrics import Evaluator

    return Evaluator(dataset="scenes", image_size=IMAGE_SIZE, n=n, seed=seed)


def score(evaluator, run_dir: Path):
    """The Evaluator's Scores (FD, KID, precision/recall and their real-vs-real floors) for the run's G_ema."""
    from ganedge import sdk

    labels = evaluator.reference_labels if MODEL.get("num_classes") else None  # match the real label mix
    with sdk.load(run_dir, backend="torch", device="cpu") as g:
        return evaluator.score(g.sample(evaluator.n, seed=FD_SEED, labels=labels))


def train_stage(out: Path, minutes: float, seed: int, steps: int | None = None, quiet: bool = False,
                fd_samples: int = FD_SAMPLES) -> DemoTraining:
    import numpy as np
    from PIL import Image

    from ganedge.data import load_dataset
    from ganedge.images import save_png
    from ganedge.artifacts.run_dir import is_run_dir
    from ganedge.train.loop import train

    run_dir = out / "run"
    if is_run_dir(run_dir):
        shutil.rmtree(run_dir)  # the demo's own previous run: start fresh
    config = demo_config(minutes, steps, seed)
    dataset = load_dataset("scenes", image_size=IMAGE_SIZE, seed=seed, **SCENES_OPTIONS)
    evaluator = make_evaluator(seed, fd_samples)

    # Step 0 first (a run of 0 steps writes the untrained checkpoint), so FD has a baseline.
    train(config.replace_train(steps=0, minutes=None), run_dir, dataset=dataset, quiet=True)
    start = score(evaluator, run_dir)
    print(f"  FD at step 0: {start.fd:.2f}  (N={start.n} generated vs {start.n} real scenes, feature net "
          f"{start.feature_net}; real-vs-real floor {start.fd_floor:.2f})", flush=True)

    result = train(config, run_dir, resume=True, dataset=dataset, quiet=quiet)
    end = score(evaluator, run_dir)
    grid = out / "samples.png"
    with Image.open(result.sample_grid) as tiles:
        save_png(grid, np.asarray(tiles.convert("RGB")), upscale=2)  # the run's 2x grid again 2x: 128 px tiles
    print(f"  FD at step {result.step}: {end.fd:.2f}  (precision {end.precision:.2f}, recall {end.recall:.2f})",
          flush=True)
    return DemoTraining(run_dir, grid, result.step, result.steps_per_s, result.train_seconds, start.fd, end.fd,
                        end.feature_net)


def export_stage(out: Path, run_dir: Path, fd_samples: int = FD_SAMPLES) -> list[Path]:
    """fp32 and int8 ONNX files, each written only if it passed its gate (a failed gate stops the demo)."""
    from ganedge.errors import ValidationError
    from ganedge.export.pipeline import ExportOptions, export_onnx

    result = export_onnx(run_dir, out / "model.onnx", ExportOptions(precisions=("fp32", "int8"), fd_samples=fd_samples),
                         log=lambda line: print(f"  {line}", flush=True))
    if not result.passed:
        raise ValidationError(result.failure_summary())
    return [v.path for v in result.variants if v.written]


def sample_stage(out: Path, model: Path, run_dir: Path) -> Path:
    """The grid's 64 seeds again, from the ONNX file through the SDK, checked against PyTorch's images."""
    from ganedge import sdk
    from ganedge.errors import VerifyError
    from ganedge.export.verify import verify_artifacts
    from ganedge.images import save_grid

    check = verify_artifacts(run_dir, model, list(range(64)), device="cpu")
    if not check.passed:
        raise VerifyError(f"{model} differs from PyTorch on seeds 0-63: " + "; ".join(check.report_lines()[1:]))
    with sdk.load(model) as g:
        images = g.sample(64, seed=0)  # uint8 (64, H, W, C), seeds 0..63 as in the run's grid
        backend = g.backend
    grid = out / "samples-onnx.png"
    save_grid(grid, images, cols=8, upscale=128 // IMAGE_SIZE)
    print(f"  64 seeds via ganedge.sdk ({backend}): max difference from PyTorch {check.images.max_level} level(s) "
          f"-> {grid}", flush=True)
    return grid


def bench_stage(out: Path, models: list[Path], seconds: float = 1.0):
    from ganedge.bench import BenchConfig, format_table, run_bench, write_reports

    config = BenchConfig(models=tuple(str(m) for m in models), precisions=("fp32",), batch_sizes=(1, 64),
                         duration_s=seconds, warmup_s=min(0.3, seconds), cold_start=False, slices=5)
    result = run_bench(config, progress=True)
    write_reports(result, json_path=out / "bench.json", md_path=out / "bench.md")
    print(format_table(result), flush=True)
    return result


def walk_stage(out: Path, model: Path) -> Path:
    """demo-out/walk.gif: a seamless loop through six seeds, every frame rendered through the SDK."""
    from ganedge import sdk
    from ganedge.animation import AnimationWriter

    path = out / "walk.gif"
    with sdk.load(model) as g, AnimationWriter(path, fps=25, upscale=WALK_SCALE) as writer:
        for frames in g.walk(list(WALK_SEEDS), WALK_FRAMES, loop=True):
            writer.write(frames)
    print(f"  {writer.frames} frames (seeds {', '.join(map(str, WALK_SEEDS))} and back, slerp) at {WALK_SCALE}x "
          f"-> {path} ({path.stat().st_size / 1024:.0f} KiB)", flush=True)
    return path


def write_summary(out: Path, trained: DemoTraining, files: list[Path], onnx_grid: Path, benched,
                  seconds: float, walk: Path | None = None) -> None:
    """demo-out/summary.json: the figures the demo printed, for scripts and the README."""
    import json

    from ganedge.fsutil import write_text_atomic

    summary = {"seconds": round(seconds, 1), "steps": trained.steps, "steps_per_s": trained.steps_per_s,
               "train_seconds": trained.train_seconds, "fd_start": round(trained.fd_start, 3),
               "fd_end": round(trained.fd_end, 3), "fd_net": trained.fd_net, "grid": str(trained.grid),
               "onnx_grid": str(onnx_grid), "walk": str(walk) if walk else None, "models": [str(f) for f in files],
               "bench": [{k: row.get(k) for k in ("model", "backend", "precision", "batch_size", "images_per_s",
                                                   "p50_ms", "p99_ms")} for row in benched.results]}
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ganedge.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=TRAIN_MINUTES, help="training time budget")
    parser.add_argument("--steps", type=int, default=None, help="also stop after this many steps")
    parser.add_argument("--out", type=Path, default=Path("demo-out"), help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--fd-samples", type=int, default=FD_SAMPLES, help="images per FD (generated and real)")
    parser.add_argument("--bench-seconds", type=float, default=1.0, help="timed seconds per bench configuration")
    args = parser.parse_args(argv)
    from ganedge.cpu import usable_cores
    from ganedge.train.threads import choose_wait_policy

    policy = choose_wait_policy()  # before torch loads; see ganedge.train.threads

    from ganedge.errors import GanEdgeError, OutputError

    started = time.perf_counter()
    shared = " (shared with other jobs: threads wait passively)" if policy.upper() == "PASSIVE" else ""
    print(f"ganedge demo: a GAN on procedural scenes ({IMAGE_SIZE}x{IMAGE_SIZE}), {args.minutes:g} min of "
          f"training on {usable_cores()} CPU cores{shared} -> {args.out}/", flush=True)
    try:
        if args.out.exists() and not args.out.is_dir():
            raise OutputError(f"--out {args.out} is a file; give a folder for the demo's outputs")
        args.out.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        print("[1] train", flush=True)
        trained = train_stage(args.out, args.minutes, args.seed, args.steps, args.quiet, args.fd_samples)
        print(f"  {trained.steps} steps, {trained.steps_per_s:.2f} steps/s; run dir {trained.run_dir}; "
              f"samples {trained.grid}  ({time.perf_counter() - t0:.0f} s)", flush=True)
        t0 = time.perf_counter()
        print("[2] export: ONNX fp32 and int8, each through its validation gate", flush=True)
        files = export_stage(args.out, trained.run_dir, args.fd_samples)
        print(f"  wrote {', '.join(str(f) for f in files)}  ({time.perf_counter() - t0:.0f} s)", flush=True)
        t0 = time.perf_counter()
        print("[3] sample: the grid's seeds from the ONNX file", flush=True)
        onnx_grid = sample_stage(args.out, files[0], trained.run_dir)
        print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
        t0 = time.perf_counter()
        print("[4] bench: PyTorch (run dir) vs ONNX fp32 vs ONNX int8, batch 1 and 64, side by side", flush=True)
        benched = bench_stage(args.out, [trained.run_dir, *files], args.bench_seconds)
        print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
        t0 = time.perf_counter()
        print("[5] walk: a looping walk through six seeds", flush=True)
        walk = walk_stage(args.out, files[0])
        print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
        print(f"FD {trained.fd_start:.2f} at step 0 -> {trained.fd_end:.2f} at step {trained.steps} "
              f"(lower is better; N={args.fd_samples}, net {trained.fd_net}). Look at {trained.grid} and {walk}.",
              flush=True)
        write_summary(args.out, trained, files, onnx_grid, benched, time.perf_counter() - started, walk)
    except GanEdgeError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return exc.exit_code
    print(f"demo done in {time.perf_counter() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
