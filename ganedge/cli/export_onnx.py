"""``ganedge export onnx``: a run directory, a module reference or a foreign ONNX -> validated ONNX files."""

from __future__ import annotations

import dataclasses
import json

import click

from ganedge.cli.params import module_load_options, module_options
from ganedge.errors import BadInputError, ValidationError


def _precisions(ctx, param, value):
    from ganedge.export.pipeline import parse_precisions

    try:
        return parse_precisions(value)
    except BadInputError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("onnx")
@click.argument("source", type=str, metavar="SOURCE")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=str), metavar="FILE",
              help="Where to write the model; extra precisions go beside it (model.fp16.onnx, model.int8.onnx).")
@click.option("--precision", default="fp32", show_default=True, callback=_precisions, metavar="fp32|fp16|int8|all",
              help="Precision(s) to write: one, a comma list such as fp32,int8, or all.")
@click.option("--opset", type=click.IntRange(18, 23), default=None, metavar="N",
              help="ONNX opset (default: the architecture's, 20; TensorRT 10.0 parses up to 20).")
@click.option("--validate/--no-validate", default=True, show_default=True,
              help="Run the validation gate against PyTorch before writing.")
@click.option("--keep-failed", is_flag=True, help="Write variants that fail their gate anyway (still exits 1).")
@click.option("--ema/--no-ema", default=True, show_default=True, help="Export the EMA generator weights when the run has them.")
@click.option("--atol", type=click.FloatRange(min=0), default=None, metavar="FLOAT",
              help="fp32 gate: max |ONNX - PyTorch| on the float output.  [default: 1e-4]")
@click.option("--max-uint8-diff", type=click.IntRange(0, 255), default=None, metavar="LEVELS",
              help="fp32 gate: largest allowed uint8 image difference.  [default: 1]")
@click.option("--min-psnr", type=click.FloatRange(min=0), default=None, metavar="DB",
              help="fp16/int8 gate: minimum PSNR against PyTorch on uint8 images.  [default: fp16 40, int8 30]")
@click.option("--max-fd-increase", type=click.FloatRange(min=0), default=None, metavar="FRACTION",
              help="int8 gate: FD may be worse than fp32's by at most this fraction.  [default: 0.10]")
@click.option("--fd/--no-fd", "measure_fd", default=True, show_default=True,
              help="Measure FD for the int8 gate (needs the dataset's feature net).")
@click.option("--fd-samples", type=click.IntRange(min=8), default=None, metavar="N",
              help="Samples per model for the int8 FD check.  [default: the evaluator's, 2000]")
@click.option("--fixed-batch", type=click.IntRange(min=1), default=None, metavar="N",
              help="Export at this fixed batch instead of a dynamic one (runners split and pad requests).")
@click.option("--fp16-fallback", type=click.Choice(["on", "off"]), default="on", show_default=True,
              help="Keep overflowing or drifting nodes in fp32 until the fp16 variant passes its gate.")
@module_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the report goes to stderr).")
def onnx_cmd(source, output, precision, opset, validate, keep_failed, ema, atol, max_uint8_diff, min_psnr,
             max_fd_increase, measure_fd, fd_samples, fixed_batch, fp16_fallback, latent_dim, weights, num_classes,
             output_range, class_names_file, as_json):
    """Export a generator to ONNX, validated against its source.

    SOURCE is a run directory, a module reference to a generator trained elsewhere
    (FILE.py:NAME or package.module:NAME: a callable taking no arguments that returns a
    torch.nn.Module with forward(z) or forward(z, label)), or an ONNX file made elsewhere
    (adopted: checked, renamed to ganedge's inputs and given a manifest).

    The graph has a dynamic batch where the model allows it (else a fixed one, said in the
    report), inputs "z" (and "label" if conditional), output "image", and the ganedge manifest
    in its metadata. Each precision must pass its gate or it is not written: fp32 within --atol
    of the source, fp16/int8 above --min-psnr (int8 also within --max-fd-increase of fp32's FD
    when FD can be measured). Exit 1 when a gate fails.

    \b
    Examples:
      ganedge export onnx runs/scenes -o model.onnx --precision all
      ganedge export onnx runs/scenes -o model.onnx --atol 1e-5 --json > report.json
      ganedge export onnx my_gan/models.py:build_generator -o g.onnx --latent-dim 512 --weights G.safetensors
      ganedge export onnx mypkg.nets:Generator -o g.onnx --output-range 0,1 --precision all
      ganedge export onnx foreign.onnx -o adopted.onnx --latent-dim 100 --precision all
      ganedge export onnx runs/pets -o pets.onnx --class-names classes.txt   # then: sample --label cat
    """
    from ganedge.export.pipeline import ExportOptions, export_onnx
    from ganedge.models.reference import ModuleSpec

    precisions, asked_all = precision
    options = ExportOptions(precisions=precisions, opset=opset, ema=ema, validate=validate, keep_failed=keep_failed,
                            skip_unoffered_int8=asked_all, atol=atol, min_psnr=min_psnr, max_uint8_diff=max_uint8_diff,
                            max_fd_increase=max_fd_increase, fd=measure_fd, fd_samples=fd_samples,
                            fixed_batch=fixed_batch, fp16_fallback=fp16_fallback == "on")
    described = module_load_options(latent_dim, weights, num_classes, output_range, class_names_file)
    options = dataclasses.replace(options, class_names=described.pop("class_names", None))
    log = lambda line: click.echo(line, err=as_json)  # noqa: E731
    if source.lower().endswith(".onnx"):
        from ganedge.export.adopt import adopt_onnx

        if weights:
            raise BadInputError("--weights is for module references; an ONNX file carries its weights")
        described.pop("weights", None)
        result = adopt_onnx(source, output, options, log, **described)
    else:
        result = export_onnx(source, output, options, log=log, spec=ModuleSpec(**described) if described else None)
    if as_json:
        click.echo(json.dumps(result.to_dict(), sort_keys=True))
    else:
        click.echo(f"Done in {result.seconds:.1f} s.")
    if not result.passed:
        raise ValidationError(result.failure_summary())
