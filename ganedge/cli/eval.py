"""``ganedge eval``: sample N images from a run or an exported model and score them offline."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
import numpy as np

BACKEND_CHOICES = ("auto", "onnxruntime", "tensorrt", "torch")


def _dataset_of_run(run_dir: Path) -> tuple[str, dict[str, Any], tuple[int, int, int], int]:
    """(dataset spec, dataset options, image shape, num_classes) from a run's config.json."""
    from ganedge.artifacts.run_dir import read_config

    config = read_config(run_dir)
    return config.dataset, dict(config.dataset_options), tuple(config.model.image_shape), config.model.num_classes


def _sample_run(run_dir: Path, n: int, seed: int, labels: np.ndarray | None, device: str, batch_size: int) -> np.ndarray:
    """EMA generator of a run directory -> uint8 (n, H, W, C) for seeds seed..seed+n-1."""
    import torch

    from ganedge.images import to_uint8_nhwc
    from ganedge.latents import latents, seed_range
    from ganedge.models.load import load_generator

    generator, config, _ = load_generator(run_dir, ema=True, device=device)
    c, h, w = config.model.image_shape
    out = np.empty((n, h, w, c), dtype=np.uint8)
    seeds = seed_range(seed, n)
    with torch.no_grad():
        for start in range(0, n, batch_size):
            z = torch.from_numpy(latents(seeds[start : start + batch_size], config.model.latent_dim)).to(device)
            y = None if labels is None else torch.from_numpy(labels[start : start + batch_size]).to(device)
            images = generator(z, y).float().cpu().numpy()  # (b, C, H, W) in [-1, 1]
            to_uint8_nhwc(images, out=out[start : start + images.shape[0]], inplace=True)
    return out


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


def _check_installed(model: Path, backend: str) -> None:
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
              help="Backend for exported models (run directories use their PyTorch EMA generator).")
@click.option("--device", default="auto", show_default=True, metavar="cpu|cuda[:N]|auto", help="Where to generate.")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True, metavar="N",
              help="Images per generator call.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
def eval_cmd(model: Path, n: int | None, seed: int, ref_seed: int, dataset_spec: str | None, inception: Path | None,
             backend: str, device: str, batch_size: int, as_json: bool) -> None:
    """Score RUN_DIR or MODEL (.onnx, .engine/.plan): FD, KID, precision and recall.

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
    """
    from ganedge.errors import ArtifactError, BadInputError
    from ganedge.metrics import Evaluator
    from ganedge.artifacts.run_dir import is_run_dir

    started = time.perf_counter()
    if not model.exists():
        raise ArtifactError(f"{model} does not exist; pass a run directory or an exported .onnx/.engine file")
    _check_installed(model, backend)
    generator = None
    if is_run_dir(model):
        kind = "run"
        dataset, options, image_shape, num_classes = _dataset_of_run(model)
        if device == "auto":
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
    elif model.is_dir():
        raise ArtifactError(f"{model} is a folder without config.json: not a ganedge run directory")
    else:
        from ganedge import sdk

        generator = sdk.load(model, backend=backend, device=device)
        device = generator.device  # what "auto" resolved to
        manifest = generator.manifest
        kind = f"{'onnx' if model.suffix.lower() == '.onnx' else 'engine'} {manifest.precision} on {generator.backend}"
        dataset, image_shape = manifest.dataset, tuple(manifest.image_shape)
        num_classes = manifest.num_classes
        options = dict(manifest.extra.get("dataset_options") or {})
    if dataset_spec is not None:
        dataset, options = dataset_spec, {}
    if not dataset:
        raise BadInputError(f"{model} records no dataset; pass --dataset scenes|digits|PATH")

    c, h, _ = image_shape
    # Features on the GPU too when generating there (a 50k-image FID on CPU is slow); else CPU.
    feature_device = device if device.startswith("cuda") else "cpu"
    evaluator = Evaluator(dataset, image_size=h, channels=c, n=n, seed=ref_seed, dataset_options=options,
                          inception=inception, device=feature_device)
    labels = None
    if num_classes:
        # Match the reference set's classes, so a conditional model is judged on the same mix.
        labels = np.minimum(evaluator.reference_labels, num_classes - 1).astype(np.int64)
    if generator is None:
        images = _sample_run(model, evaluator.n, seed, labels, device, batch_size)
    else:
        with generator:
            images = generator.sample(evaluator.n, seed=seed, batch_size=batch_size, labels=labels)
    scores = evaluator.score(images)
    result = {**scores.to_dict(), "model": str(model), "kind": kind, "sample_seed": seed,
              "seconds": round(time.perf_counter() - started, 2)}
    if as_json:
        click.echo(json.dumps(result, sort_keys=True))
    else:
        click.echo(_format_table(result))
