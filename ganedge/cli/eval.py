"""``ganedge eval``: sample N images from a run or an exported model and score them offline."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
import numpy as np

from ganedge.cli.params import module_load_options, module_options, require_reference
from ganedge.sdk.backends import BACKEND_CHOICES


def _open(model: Path, backend: str, device: str, module_options: dict[str, Any]):
    """(Generator, kind, dataset, dataset options) for a run directory, a module reference or an exported
    model, loaded through ``ganedge.sdk.load`` like any other caller: a run directory or module reference
    runs on the torch backend."""
    from ganedge import sdk
    from ganedge.artifacts.run_dir import is_run_dir, read_config
    from ganedge.errors import ArtifactError
    from ganedge.models.reference import looks_like_reference

    if looks_like_reference(str(model)):
        _check_installed(str(model), backend)
        generator = sdk.load(str(model), backend=backend, device=device, **module_options)
        return generator, "module", generator.manifest.dataset, {}
    if not model.exists():
        raise ArtifactError(f"{model} does not exist; pass a run directory or an exported .onnx/.engine file")
    if model.is_dir() and not is_run_dir(model):
        raise ArtifactError(f"{model} is a folder without config.json: not a ganedge run directory")
    _check_installed(model, backend)
    generator = sdk.load(model, backend=backend, device=device)
    manifest = generator.manifest
    if model.is_dir():  # the run's config keeps the dataset options the manifest does not carry
        config = read_config(model)
        return generator, "run", config.dataset, dict(config.dataset_options)
    kind = f"{'onnx' if model.suffix.lower() == '.onnx' else 'engine'} {manifest.precision} on {generator.backend}"
    return generator, kind, manifest.dataset, dict(manifest.extra.get("dataset_options") or {})


def _format_table(result: dict[str, Any]) -> str:
    rows = [
        ("FD", f"{result['fd']:.4g}", f"floor {result['fd_floor']:.4g}"),
        ("KID", f"{result['kid']:.4g} ± {result['kid_std']:.2g}", f"floor {result['kid_floor']:.2g}"),
        ("precision", f"{result['precision']:.3f}", f"floor {result['precision_floor']:.3f}"),
        ("recall", f"{result['recall']:.3f}", f"floor {result['recall_floor']:.3f}"),
    ]
    width = max(len(r[1]) for r in rows)
    head = (f"{result['model']}: {result['dataset']}, n={result['n']}, feature net {result['feature_net']}, "
            f"seeds {result['sample_seed']}..{result['sample_seed'] + result['n'] - 1}")
    lines = [head] + [f"  {name:<10} {value:>{width}}   ({floor}, real vs real)" for name, value, floor in rows]
    lines.append(f"  ({result['seconds']:.1f} s; FD/KID lower is better, precision/recall higher)")
    return "\n".join(lines)


def _check_installed(model: Path | str, backend: str) -> None:
    """The model's cheap checks, then torch (the feature net) and the model's runtime: every missing extra at once."""
    from ganedge.extras import require_all
    from ganedge.sdk.loader import preflight

    require_all(("torch", *preflight(model, backend)), "ganedge eval")


@click.command("eval")
@click.argument("model", metavar="RUN_DIR|MODEL", type=click.Path(path_type=Path))
@click.option("--n", "n", type=click.IntRange(min=8), default=None, metavar="N",
              help="Images to generate and real images to compare with  [default: 2000, or half a small dataset]")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True, metavar="S",
              help="First sample seed: images come from seeds S..S+N-1.")
@click.option("--ref-seed", type=click.IntRange(min=0), default=0, show_default=True, metavar="S",
              help="Seed choosing the real reference images (keep it fixed to compare models).")
@click.option("--dataset", "dataset_spec", default=None, metavar="scenes|digits|PATH",
              help="Score against this data instead of the one the model records.")
@click.option("--inception", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="InceptionV3 weights (safetensors, torchvision names) for true FID instead of the built-in net.")
@click.option("--backend", type=click.Choice(BACKEND_CHOICES), default="auto", show_default=True,
              help="ganedge.sdk backend; auto takes the artifact's own (torch for a run directory, its EMA generator).")
@click.option("--device", default="auto", show_default=True, metavar="cpu|cuda[:N]|auto", help="Where to generate.")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True, metavar="N",
              help="Images per generator call.")
@module_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
def eval_cmd(model: Path, n: int | None, seed: int, ref_seed: int, dataset_spec: str | None, inception: Path | None,
             backend: str, device: str, batch_size: int, latent_dim, weights, num_classes, output_range,
             class_names_file, as_json: bool) -> None:
    """Score RUN_DIR, a module reference (FILE.py:NAME, with --dataset) or MODEL (.onnx, .engine/.plan):
    FD, KID, precision and recall.

    Generates N images for seeds S..S+N-1 and compares their features with N real images of
    the dataset the model was trained on. The features come from a small net trained for
    that dataset (scenes-v1, digits-v1), so this is FD, not FID: compare numbers only at the
    same N and feature net, both printed with every result. The floor is the same metric
    between two disjoint real sets of N: no model can be expected to beat it.

    \b
    Examples:
      ganedge eval runs/scenes
      ganedge eval model.onnx --n 5000 --json
      ganedge eval runs/mine --dataset photos/ --inception pt_inception.safetensors
      ganedge eval my_gan/models.py:build_generator --latent-dim 128 --weights G.safetensors --dataset photos/
    """
    from ganedge.errors import BadInputError
    from ganedge.metrics import Evaluator

    started = time.perf_counter()
    described = module_load_options(latent_dim, weights, num_classes, output_range, class_names_file)
    require_reference((model,), described)
    generator, kind, dataset, options = _open(model, backend, device, described)
    with generator:
        if dataset_spec is not None:
            dataset, options = dataset_spec, {}
        if not dataset:
            raise BadInputError(f"{model} records no dataset; pass --dataset scenes|digits|PATH")
        c, h, _ = generator.manifest.image_shape
        # Features on the GPU too when generating there (a 50k-image FID on CPU is slow); else CPU.
        feature_device = generator.device if generator.device.startswith("cuda") else "cpu"
        evaluator = Evaluator(dataset, image_size=h, channels=c, n=n, seed=ref_seed, dataset_options=options,
                              inception=inception, device=feature_device)
        labels = None
        if generator.manifest.num_classes:
            # Match the reference set's classes, so a conditional model is judged on the same mix.
            labels = np.minimum(evaluator.reference_labels, generator.manifest.num_classes - 1).astype(np.int64)
        images = generator.sample(evaluator.n, seed=seed, batch_size=batch_size, labels=labels)
    scores = evaluator.score(images)
    result = {**scores.to_dict(), "model": str(model), "kind": kind, "sample_seed": seed,
              "seconds": round(time.perf_counter() - started, 2)}
    if as_json:
        click.echo(json.dumps(result, sort_keys=True))
    else:
        click.echo(_format_table(result))
