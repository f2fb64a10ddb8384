"""``ganedge verify``: compare two artifacts on the same seeds; exit 1 beyond tolerance."""

from __future__ import annotations

import json

import click

from ganedge.cli.params import module_load_options, module_options, require_reference
from ganedge.click_types import SEEDS
from ganedge.errors import VerifyError


@click.command("verify")
@click.argument("model_a", type=str, metavar="MODEL_A")
@click.argument("model_b", type=str, metavar="MODEL_B")
@click.option("--seeds", type=SEEDS, default="0-255", show_default=True, metavar="SEEDS",
              help="Seeds to compare, e.g. 0-255 or 1,2,5-10.")
@click.option("--atol", type=click.FloatRange(min=0), default=None, metavar="FLOAT",
              help="Max |A - B| on the float output.  [default: 1e-4 when both are fp32]")
@click.option("--min-psnr", type=click.FloatRange(min=0), default=None, metavar="DB",
              help="Min PSNR of B against A on uint8 images.  [default: 40 for fp16/bf16, 30 for int8]")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True, metavar="N",
              help="Seeds per generate() call.")
@click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda[:N]",
              help="Device for both artifacts (TensorRT engines always run on CUDA).")
@module_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def verify(model_a, model_b, seeds, atol, min_psnr, batch_size, device, latent_dim, weights, num_classes,
           output_range, class_names_file, as_json):
    """Compare MODEL_B with MODEL_A (the reference) on the same seeds.

    Each MODEL is a run directory, a module reference (FILE.py:NAME or package.module:NAME, described
    by --latent-dim, --weights, ...), an .onnx file or a TensorRT engine. Reports mean/median/max
    absolute and relative error with the location of the max, PSNR per image, the worst seeds
    and the smallest tolerance that would pass. Given --atol/--min-psnr replace the default
    tolerance, which follows the less precise of the two models. Exit 1 beyond tolerance.

    \b
    Examples:
      ganedge verify runs/scenes model.onnx
      ganedge verify model.onnx model.int8.onnx --seeds 0-1023
      ganedge verify model.onnx model.engine --atol 1e-2 --json
      ganedge verify my_gan/models.py:build_generator g.onnx --latent-dim 512 --weights G.safetensors
    """
    from ganedge.export.verify import verify_artifacts

    described = module_load_options(latent_dim, weights, num_classes, output_range, class_names_file)
    require_reference((model_a, model_b), described)
    result = verify_artifacts(model_a, model_b, seeds, atol=atol, min_psnr=min_psnr, batch_size=batch_size,
                              device=device, module_options=described)
    if as_json:
        click.echo(json.dumps(result.to_dict(), sort_keys=True))
    else:
        click.echo("\n".join(result.report_lines()))
    if not result.passed:
        worst = ", ".join(str(w["seed"]) for w in result.worst[:3])
        failed = "; ".join(text for ok, text in result.checks if not ok)
        raise VerifyError(f"{model_b} differs from {model_a} beyond tolerance ({failed}); worst seeds {worst}")
