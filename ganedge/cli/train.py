"""``ganedge train``: train a GAN into a run directory, or continue one with ``--resume``."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from ganedge.errors import BadInputError, ConfigError
from ganedge.artifacts.run_config import ARCHS, LOSSES, ModelConfig, RunConfig, TrainConfig, conflicting_fields
from ganedge.train.presets import PRESETS, auto_preset, describe_recipe, preset_default_text

DEFAULT_STEPS = 10_000  # when neither --steps nor --minutes is given

# CLI option -> the config field it sets ("model.x", "train.x" or a top-level field)
FIELDS = {
    "dataset": "dataset", "dataset_option": "dataset_options", "arch": "model.arch", "latent_dim": "model.latent_dim",
    "g_width": "model.g_width", "d_width": "model.d_width", "spectral_norm": "model.d_spectral_norm",
    "loss": "train.loss", "batch_size": "train.batch_size", "lr_g": "train.lr_g", "lr_d": "train.lr_d",
    "betas": "train.betas", "r1": "train.r1_gamma", "r1_every": "train.r1_every", "gp": "train.gp_weight",
    "d_steps": "train.d_steps", "ema": "train.ema_decay", "diffaugment": "train.diffaugment", "seed": "train.seed",
    "steps": "train.steps", "minutes": "train.minutes", "log_every": "train.log_every",
    "sample_every": "train.sample_every", "checkpoint_every": "train.checkpoint_every",
    "keep_checkpoints": "train.keep_checkpoints",
}


def _parse_option(text: str) -> tuple[str, Any]:
    key, eq, value = text.partition("=")
    if not eq or not key.strip():
        raise BadInputError(f"--dataset-option {text!r} is not KEY=VALUE (e.g. --dataset-option max_objects=2)")
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = value  # a bare word: keep it as a string
    return key.strip(), parsed


def _parse_betas(text: str) -> tuple[float, float]:
    try:
        b1, b2 = (float(v) for v in text.split(","))
    except ValueError:
        raise BadInputError(f"--betas {text!r} is not two numbers like 0.0,0.99") from None
    return (b1, b2)


def _requested(params: dict[str, Any]) -> dict[str, Any]:
    """Option values converted to the config's types, by config field name (None: left to the preset)."""
    values = {FIELDS[k]: v for k, v in params.items() if k in FIELDS}
    values["dataset_options"] = dict(_parse_option(t) for t in params["dataset_option"])
    values["train.betas"] = None if params["betas"] is None else _parse_betas(params["betas"])
    return values


def _apply_preset(name: str, values: dict[str, Any], given: set[str]) -> list[str]:
    """Fill the fields the user did not give from preset ``name``; returns the given ones it would have set."""
    preset = PRESETS[name]
    other_arch = "model.arch" in given and values["model.arch"] != preset.fields["model.arch"]
    for key, value in preset.fields.items():
        if key not in given:
            # widths mean different things per architecture: another arch keeps its own default widths
            values[key] = None if other_arch and key in ("model.g_width", "model.d_width") else value
    return sorted(key for key in preset.fields if key in given)


def _fresh_config(values: dict[str, Any], params: dict[str, Any]) -> tuple[RunConfig, Any]:
    from ganedge.data import load_dataset

    seed = values["train.seed"]
    dataset = load_dataset(values["dataset"], image_size=params["image_size"], channels=params["channels"],
                           seed=seed, **values["dataset_options"])
    num_classes = 0
    if params["conditional"]:
        if not dataset.num_classes:
            raise BadInputError(f"--conditional needs labels, but dataset {dataset.name!r} has no classes")
        num_classes = dataset.num_classes
    model = ModelConfig(image_shape=tuple(dataset.image_shape), num_classes=num_classes,
                        class_names=dataset.class_names if num_classes else None,
                        **{k.split(".")[1]: v for k, v in values.items() if k.startswith("model.")})
    train_fields = {k.split(".")[1]: v for k, v in values.items() if k.startswith("train.")}
    if train_fields["steps"] is None and train_fields["minutes"] is None:
        train_fields["steps"] = DEFAULT_STEPS
    config = RunConfig(model=model, train=TrainConfig(**train_fields), dataset=values["dataset"],
                       dataset_options=values["dataset_options"])
    return config, dataset


def _resumed_config(run_dir: Path, values: dict[str, Any], given: set[str], params: dict[str, Any]) -> RunConfig:
    """The stored config with the budget/intervals the user gave; anything else that differs is an error."""
    from ganedge.artifacts.run_dir import read_config

    stored = read_config(run_dir)
    c, h, _ = stored.model.image_shape
    if {"image_size", "channels"} & params["_given"]:
        size = params["image_size"] if "image_size" in params["_given"] else h
        values["model.image_shape"] = (params["channels"] or c, size, size)
        given = given | {"model.image_shape"}
    if "conditional" in params["_given"] and params["conditional"] != (stored.model.num_classes > 0):
        state = "conditional" if stored.model.num_classes else "unconditional"
        raise ConfigError(f"--resume: --conditional conflicts with the run in {run_dir} (it is {state})")
    section = lambda prefix: {k.split(".")[1]: values[k] for k in given if k.startswith(prefix)}  # noqa: E731
    try:
        requested = RunConfig(model=dataclasses.replace(stored.model, **section("model.")),
                              train=dataclasses.replace(stored.train, **section("train.")),
                              dataset=values["dataset"] if "dataset" in given else stored.dataset,
                              dataset_options=values["dataset_options"] if "dataset_options" in given
                              else stored.dataset_options)
    except ConfigError as exc:
        raise ConfigError(f"--resume: {exc}") from None
    conflicts = conflicting_fields(stored, requested, given)
    if conflicts:
        raise ConfigError(f"--resume: {', '.join(conflicts)} conflicts with the run in {run_dir}; drop the option "
                          "or start a new run with another -o")
    return dataclasses.replace(stored, train=requested.train)


def _resumed_with_preset(run_dir: Path, values: dict[str, Any], given: set[str], params: dict[str, Any],
                         preset: str) -> RunConfig:
    """A resumed run keeps its stored recipe; an explicit --preset must agree with it like any other option."""
    if "preset" not in params["_given"] or preset == "auto":
        return _resumed_config(run_dir, values, given, params)
    _apply_preset(preset, values, given)
    try:
        return _resumed_config(run_dir, values, given | set(PRESETS[preset].fields), params)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (--preset {preset} sets these; a resumed run keeps its own recipe)") from None


@click.command(context_settings={"show_default": True, "max_content_width": 100})
@click.option("--dataset", default="scenes", metavar="scenes|digits|PATH",
              help="Built-in procedural scenes, sklearn digits, or a folder of images.")
@click.option("--dataset-option", multiple=True, metavar="KEY=VALUE",
              help="Dataset option passed to load_dataset (repeatable; VALUE parsed as JSON when it can be).")
@click.option("--preset", type=click.Choice(["auto", *PRESETS]), default="auto",
              help="Recipe the options below start from: fast (CPU minutes) or quality (GPU hours); auto picks by "
                   "device. Options you give override it.")
@click.option("--arch", type=click.Choice(ARCHS), default=None, help="Generator/discriminator family.  "
              f"[default: {preset_default_text('model.arch')}]")
@click.option("--loss", type=click.Choice(LOSSES), default=None, help="GAN objective.  "
              f"[default: {preset_default_text('train.loss')}]")
@click.option("--image-size", type=click.IntRange(4, 1024), default=32, metavar="PX",
              help="Side of the square images (dcgan/resnet: 16, 32, 64 or 128).")
@click.option("--channels", type=click.Choice(["1", "3"]), default=None, callback=lambda c, p, v: v and int(v),
              help="Image channels  [default: the dataset's]")
@click.option("--latent-dim", type=click.IntRange(1, 4096), default=128, metavar="INT", help="Size of z.")
@click.option("--g-width", type=click.IntRange(1, 4096), default=None, metavar="INT",
              help=f"G base channels (mlp: hidden units)  [default: {preset_default_text('model.g_width')}]")
@click.option("--d-width", type=click.IntRange(1, 4096), default=None, metavar="INT",
              help=f"D base channels  [default: {preset_default_text('model.d_width')}]")
@click.option("--spectral-norm/--no-spectral-norm", default=None,
              help=f"Spectral normalisation in D.  [default: {preset_default_text('model.d_spectral_norm')}]")
@click.option("--conditional", is_flag=True, help="Condition G and D on the dataset's class labels.")
@click.option("--batch-size", type=click.IntRange(1, 65536), default=None, metavar="INT",
              help="Global batch (split across torchrun processes).  "
                   f"[default: {preset_default_text('train.batch_size')}]")
@click.option("--lr-g", type=click.FloatRange(0, min_open=True), default=None, metavar="LR",
              help=f"G learning rate.  [default: {preset_default_text('train.lr_g')}]")
@click.option("--lr-d", type=click.FloatRange(0, min_open=True), default=None, metavar="LR",
              help=f"D learning rate.  [default: {preset_default_text('train.lr_d')}]")
@click.option("--betas", default=None, metavar="B1,B2",
              help=f"Adam betas.  [default: {preset_default_text('train.betas')}]")
@click.option("--r1", type=click.FloatRange(0), default=None, metavar="GAMMA",
              help=f"R1 penalty weight (0 = off).  [default: {preset_default_text('train.r1_gamma')}]")
@click.option("--r1-every", type=click.IntRange(1), default=None, metavar="N",
              help=f"Lazy R1: apply every N D steps.  [default: {preset_default_text('train.r1_every')}]")
@click.option("--gp", type=click.FloatRange(0), default=10.0, metavar="W", help="Gradient penalty weight (wgan-gp).")
@click.option("--d-steps", type=click.IntRange(1, 100), default=1, metavar="N", help="D updates per G update.")
@click.option("--ema", type=click.FloatRange(0, 1, max_open=True), default=None, metavar="DECAY",
              help="EMA decay of G's weights (0 = off); samples and export use G_ema.  "
                   f"[default: {preset_default_text('train.ema_decay')}]")
@click.option("--diffaugment", default="", metavar="POLICY",
              help="DiffAugment policy, a comma list of color,translation,cutout (empty = off).")
@click.option("--steps", type=click.IntRange(0), default=None, metavar="N",
              help=f"Total steps of the run  [default: {DEFAULT_STEPS} unless --minutes]")
@click.option("--minutes", type=click.FloatRange(0, min_open=True), default=None, metavar="M",
              help="Total training time of the run, across resumes (with --steps: whichever ends first).")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, metavar="INT", help="Seed of everything.")
@click.option("--log-every", type=click.IntRange(1), default=100, metavar="N", help="Steps per metrics.jsonl line.")
@click.option("--sample-every", type=click.IntRange(1), default=1000, metavar="N", help="Steps per sample grid.")
@click.option("--checkpoint-every", type=click.IntRange(1), default=1000, metavar="N", help="Steps per checkpoint.")
@click.option("--keep-checkpoints", type=click.IntRange(1), default=2, metavar="N", help="Newest checkpoints kept.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", help="Where to train.")
@click.option("--threads", type=click.IntRange(1), default=None, metavar="N",
              help="torch threads per process  [default: usable cores / local processes]")
@click.option("--resume", is_flag=True, help="Continue RUN_DIR from its last complete checkpoint.")
@click.option("--quiet", "-q", is_flag=True,
              help="No recipe, estimate, progress bar or summary (errors still go to stderr).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object summarising the run on stdout.")
@click.option("-o", "--output", "run_dir", required=True, type=click.Path(path_type=Path), metavar="RUN_DIR",
              help="Run directory (new or empty; or an existing run with --resume).")
@click.pass_context
def train(ctx: click.Context, run_dir: Path, resume: bool, quiet: bool, as_json: bool, device: str,
          threads: int | None, image_size: int, channels: int | None, conditional: bool, **options: Any) -> None:
    """Train a GAN on scenes, digits or a folder of images.

    Writes RUN_DIR/config.json, weights.safetensors (G, G_ema, D), optimizer.safetensors,
    state.json, metrics.jsonl and samples/step-NNNNNN.png. Checkpoints are crash-safe:
    after a kill at any moment, --resume continues from the last complete one, exactly.
    Under torchrun, training uses DistributedDataParallel (gloo on CPU, nccl on GPU).

    \b
    Recipes (--preset; every option you give overrides it):
      fast     DCGAN width 32, no spectral norm, lazy R1 1, lr 1.5e-3, Adam (0, 0.99),
               batch 32, EMA 0.995: learns in minutes on a CPU (~10x the steps/s of quality)
      quality  SN-ResNet, lr 2e-4, batch 64, EMA 0.999: the better model given GPU hours
      auto     quality where training runs on a GPU, else fast (the default)

    Before the first step it prints the recipe and an estimate of the time to the budget,
    measured on a few warm-up steps of this very run that are then rolled back (the run
    continues as if they never happened; --quiet skips both).

    \b
    Examples:
      ganedge train --dataset scenes --minutes 5 -o runs/scenes
      ganedge train --dataset photos/ --preset quality --steps 50000 -o runs/photos
      ganedge train --dataset digits --image-size 16 --conditional --steps 5000 -o runs/digits
      ganedge train --arch dcgan --loss ns --diffaugment color,translation -o runs/dc
      ganedge train --steps 20000 --resume -o runs/scenes
      torchrun --nproc-per-node 2 -m ganedge train --steps 2000 -o runs/ddp
    """
    from ganedge.train.threads import choose_wait_policy

    choose_wait_policy()  # before torch loads; see ganedge.train.threads
    from ganedge.train.loop import resolve_device, train as run_training

    preset = options.pop("preset")
    params = dict(options, image_size=image_size, channels=channels, conditional=conditional)
    params["_given"] = {name for name in [*params, "preset"] if ctx.get_parameter_source(name) in
                        (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)}
    values = _requested(params)
    given = {FIELDS[name] for name in params["_given"] if name in FIELDS}
    device = resolve_device(device)
    if resume:
        config, dataset = _resumed_with_preset(run_dir, values, given, params, preset), None
        recipe = f"recipe: the run's own (its config.json): {describe_recipe(config)}"
    else:
        if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
            hint = " (pass --resume to continue it)" if (run_dir / "config.json").is_file() else ""
            raise BadInputError(f"run directory {run_dir} exists and is not empty{hint}; choose a new -o")
        name = auto_preset(device) if preset == "auto" else preset
        overridden = _apply_preset(name, values, given)
        config, dataset = _fresh_config(values, params)
        why = f"auto: training on {device}" if preset == "auto" else "--preset"
        kept = f"; yours: {', '.join(k.split('.')[-1] for k in overridden)}" if overridden else ""
        recipe = f"recipe: {name} ({PRESETS[name].purpose}; {why}{kept}): {describe_recipe(config)}"

    result = run_training(config, run_dir, resume=resume, dataset=dataset, device=device, threads=threads,
                          quiet=quiet or as_json, estimate=not quiet, announce=None if quiet else recipe)
    if int(os.environ.get("RANK", "0")) != 0:
        return
    if as_json:
        click.echo(json.dumps(result.to_dict(), sort_keys=True))
    elif not quiet:
        m = result.metrics
        losses = " ".join(f"{k}={m[k]:.3g}" for k in ("d_loss", "g_loss") if k in m)
        click.echo(f"trained steps {result.start_step}->{result.step} (stopped by {result.stopped_by}) in "
                   f"{result.train_seconds:.0f} s total, {result.steps_per_s:.3g} steps/s this session; {losses}")
        click.echo(f"run: {result.run_dir}  samples: {result.sample_grid}")
        click.echo(f"next: ganedge export onnx {result.run_dir} -o model.onnx")
    if result.stopped_by == "signal":
        click.echo(f"interrupted at step {result.step}; checkpoint saved, continue with --resume", err=True)
        sys.exit(130)
