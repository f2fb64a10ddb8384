"""``ganedge export trt``: build a TensorRT engine (+ its sidecar manifest) from a ganedge ONNX file."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ganedge.artifacts.trt_profile import DEFAULT_PROFILE


@click.command("trt")
@click.argument("onnx_path", metavar="MODEL.onnx", type=click.Path(dir_okay=True, path_type=Path))
@click.option("-o", "--output", "engine_path", required=True, metavar="ENGINE",
              type=click.Path(path_type=Path), help="Engine file to write (.engine or .plan); the sidecar goes to ENGINE.json.")
@click.option("--batch", metavar="MIN:OPT:MAX", default=None, show_default=DEFAULT_PROFILE,
              help="Batch sizes of the optimization profile; N means 1:N:N. A fixed-batch ONNX allows only B:B:B.")
@click.option("--timing-cache", type=click.Path(path_type=Path), metavar="FILE", default=None,
              help="TensorRT timing cache: loaded if it exists, updated after the build (rebuilds get faster).")
@click.option("--version-compatible", is_flag=True,
              help="Build an engine that also runs on newer TensorRT releases (may be slower; carries host code).")
@click.option("--workspace", "workspace_mb", type=click.IntRange(min=1), metavar="MB", default=None,
              help="Limit the scratch memory TensorRT tactics may use (default: TensorRT's choice).")
@click.option("--strongly-typed", is_flag=True,
              help="TensorRT 10: keep every tensor in its ONNX type, as TensorRT 11 always does.")
@click.option("--tf32/--no-tf32", default=False, show_default=True,
              help="Allow TF32 math inside fp32 layers (faster on Ampere+, but misses the fp32 1e-4 gate).")
@click.option("--opt-level", type=click.IntRange(0, 5), metavar="0-5", default=None,
              help="TensorRT builder optimization level (default: TensorRT's, 3); higher builds longer.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object describing the build.")
@click.option("--verbose", is_flag=True, help="Show TensorRT's own log on stderr.")
def trt_cmd(onnx_path: Path, engine_path: Path, batch: str | None, timing_cache: Path | None,
            version_compatible: bool, workspace_mb: int | None, strongly_typed: bool, tf32: bool,
            opt_level: int | None, as_json: bool, verbose: bool) -> None:
    """Build a TensorRT engine from MODEL.onnx (an fp32, fp16 or int8-QDQ export).

    Precision comes from the ONNX: TensorRT 11 networks are strongly typed, so export the
    precision you want with `ganedge export onnx --precision ...`; on TensorRT 10 the fp16,
    bf16 and int8 (Q/DQ) variants set the matching builder flag. The engine runs only on
    GPUs of the architecture it was built on, with the same TensorRT version (or newer ones
    with --version-compatible); the sidecar ENGINE.json records both.

    \b
    Examples:
      ganedge export trt model.onnx -o model.engine
      ganedge export trt model-fp16.onnx -o model-fp16.engine --batch 1:16:64
      ganedge export trt model-int8.onnx -o model-int8.plan --batch 64 --timing-cache trt.cache
      ganedge export trt model.onnx -o model.engine --version-compatible --json
    """
    from ganedge.export.trt.builder import BuildOptions, build_engine

    options = BuildOptions(batch=batch, timing_cache=timing_cache, version_compatible=version_compatible,
                           workspace_mb=workspace_mb, strongly_typed=strongly_typed, tf32=tf32,
                           opt_level=opt_level, verbose=verbose)
    result = build_engine(onnx_path, engine_path, options)
    if as_json:
        click.echo(json.dumps(result.to_dict(), sort_keys=True))
        return
    facts = result.sidecar.extra
    profile = facts["profile"]
    click.echo(f"wrote {result.engine_path} ({result.engine_bytes / 1e6:.1f} MB) in {result.seconds:.1f} s")
    click.echo(f"  TensorRT {facts['tensorrt_version']} on {facts['gpu_name']} (compute {facts['compute_capability']}), "
               f"{result.sidecar.precision}, {'strongly typed' if facts['strongly_typed'] else 'weakly typed'}"
               f"{', flags ' + ','.join(facts['builder_flags']) if facts['builder_flags'] else ''}")
    click.echo(f"  batch profile {profile['min']}:{profile['opt']}:{profile['max']}, sidecar {result.sidecar_path}")
    if timing_cache is not None:
        click.echo(f"  timing cache: {result.timing_cache}")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
