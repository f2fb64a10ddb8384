"""``ganedge export onnx``: a run directory -> validated ONNX files (fp32, fp16, int8)."""

from __future__ import annotations

import json

import click

from ganedge.errors import BadInputError, ValidationError


def _precisions(ctx, param, value):
    from ganedge.export.pipeline import parse_precisions

    try:
        return parse_precisions(value)
    except BadInputError as exc:
        raise click.BadParameter(str(exc)) from None


def _class_names(ctx, param, value):
    """FILE: one class name per line (blank lines skipped), or a JSON list of strings."""
    import json as json_module
    from pathlib import Path

    if value is None:
        return None
    try:
        text = Path(value).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"--class-names: cannot read {value} ({exc})") from None
    if text.lstrip().startswith("["):
        try:
            names = json_module.loads(text)
        except json_module.JSONDecodeError as exc:
            raise BadInputError(f"--class-names: {value} is not a JSON list of names ({exc})") from None
        if not isinstance(names, list):
            raise BadInputError(f"--class-names: {value} is not a JSON list of names")
        return tuple(names)
    return tuple(line.strip() for line in text.splitlines() if line.strip())


@click.command("onnx")
@click.argument("run_dir", type=click.Path(path_type=str), metavar="RUN_DIR")
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
@click.option("--class-names", type=click.Path(dir_okay=False, path_type=str), default=None, callback=_class_names,
              metavar="FILE", help="Name the classes of a conditional model: one name per line (or a JSON list), "
              "in class order; overrides the names the run recorded.  [default: the run's folder names, if any]")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the report goes to stderr).")
def onnx_cmd(run_dir, output, precision, opset, validate, keep_failed, ema, atol, max_uint8_diff, min_psnr,
             max_fd_increase, measure_fd, fd_samples, class_names, as_json):
    """Export a run's generator to ONNX, validated against PyTorch.

    The graph has a dynamic batch, inputs "z" (and "label" if conditional), output "image",
    and the ganedge manifest in its metadata. Each precision must pass its gate or it is not
    written: fp32 within --atol of PyTorch, fp16/int8 above --min-psnr (int8 also within
    --max-fd-increase of fp32's FD when FD can be measured). Exit 1 when a gate fails.

    \b
    Examples:
      ganedge export onnx runs/scenes -o model.onnx
      ganedge export onnx runs/scenes -o model.onnx --precision all
      ganedge export onnx runs/scenes -o model-int8.onnx --precision int8
      ganedge export onnx runs/scenes -o model.onnx --atol 1e-5 --json > report.json
      ganedge export onnx runs/pets -o pets.onnx --class-names classes.txt   # then: sample --label cat
    """
    from ganedge.export.pipeline import ExportOptions, export_onnx

    precisions, asked_all = precision
    options = ExportOptions(precisions=precisions, opset=opset, ema=ema, validate=validate, keep_failed=keep_failed,
                            skip_unoffered_int8=asked_all, atol=atol, min_psnr=min_psnr, max_uint8_diff=max_uint8_diff,
                            max_fd_increase=max_fd_increase, fd=measure_fd, fd_samples=fd_samples,
                            class_names=class_names)
    result = export_onnx(run_dir, output, options, log=lambda line: click.echo(line, err=as_json))
    if as_json:
        click.echo(json.dumps(result.to_dict(), sort_keys=True))
    else:
        click.echo(f"Done in {result.seconds:.1f} s.")
    if not result.passed:
        raise ValidationError(result.failure_summary())
