"""``ganedge export onnx``: the pipeline, as small steps each callable alone.

    load_source -> export_with_batch_fallback -> check_model/check_io_contract  (models.load, batching, check)
      -> [fp16: fp16_with_fallback] [int8: subpixel_convtranspose -> to_int8]    (fp16_fallback, rewrite, precision)
      -> validate_session (+ fd_comparison for int8)                            (validate, quality)
      -> lint_tensorrt, set_manifest, write_model                               (lint, artifacts.onnx_meta, fsutil)

The source is a run directory, a module reference (``FILE.py:NAME`` / ``package.module:NAME``, a
generator trained elsewhere) or an already loaded :class:`~ganedge.models.load.TorchSource`
(:func:`ganedge.export.export_module`). Every variant is validated before anything is written; a
variant that fails its gate is not written (``keep_failed`` writes it anyway, and the result still
says it failed). If the fp32 graph itself fails, nothing is written at all: fp16 and int8 are derived
from it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ganedge.artifacts.manifest import Manifest, sha256_file
from ganedge.errors import BadInputError, OutputError
from ganedge.export.check import check_io_contract, check_model
from ganedge.export.settings import PRECISIONS, ExportSettings, check_opset, settings_for_source
from ganedge.extras import require_all
from ganedge.export.results import ExportResult, VariantResult
from ganedge.export.variant_builders import build_fp16, build_int8, int8_fd, int8_offered, validate_variant
from ganedge.fsutil import atomic_path

Log = Callable[[str], None]
# What exporting a torch generator imports: the tracer (torch.onnx with onnxscript), onnx, and onnxruntime for
# the batch probe and the gates.
EXPORT_MODULES = ("torch", "onnx", "onnxscript", "onnxruntime")


@dataclass(frozen=True)
class ExportOptions:
    precisions: tuple[str, ...] = ("fp32",)
    opset: int | None = None  # None: the architecture's default
    ema: bool = True
    validate: bool = True
    keep_failed: bool = False
    skip_unoffered_int8: bool = False  # "all": leave int8 out (with a notice) where it measured no faster than fp32
    atol: float | None = None
    min_psnr: float | None = None
    max_uint8_diff: int | None = None
    max_fd_increase: float | None = None
    fd: bool = True  # False: skip the FD half of the int8 gate (reported as skipped)
    fd_samples: int | None = None
    lint: bool = True
    fixed_batch: int | None = None  # export at this fixed batch instead of trying a dynamic one
    fp16_fallback: bool = True  # keep nodes in fp32 until the fp16 variant passes its gate
    class_names: tuple[str, ...] | None = None  # set/override the manifest's class names (--class-names)


def parse_precisions(spec: str) -> tuple[tuple[str, ...], bool]:
    """``fp32`` / ``fp16,int8`` / ``all`` -> (precisions in canonical order, whether 'all' was asked)."""
    items = [p.strip().lower() for p in spec.split(",") if p.strip()]
    if items == ["all"]:
        return PRECISIONS, True
    bad = [p for p in items if p not in PRECISIONS]
    if bad or not items:
        raise BadInputError(f"--precision {spec!r}: choose from {', '.join(PRECISIONS)}, a comma list, or 'all'")
    return tuple(p for p in PRECISIONS if p in items), False


def variant_paths(output: str | os.PathLike, precisions: tuple[str, ...]) -> dict[str, Path]:
    """One precision: exactly ``output``. Several: fp32 at ``output``, others beside it (model.fp16.onnx)."""
    output = Path(output)
    if len(precisions) == 1:
        return {precisions[0]: output}
    stem, suffix = (output.stem, output.suffix) if output.suffix else (output.name, ".onnx")
    return {p: output if p == "fp32" else output.with_name(f"{stem}.{p}{suffix}") for p in precisions}


def check_output_path(path: Path) -> None:
    """Fail before the slow part if ``path`` can never be written (no folder is created here)."""
    if path.is_dir():
        raise OutputError(f"output {path} is a folder; give a file name such as {path / 'model.onnx'}")
    parent = path.parent if str(path.parent) else Path(".")
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"cannot write {path}: {probe} is a file, not a folder; choose another -o")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {path}: folder {probe} is not writable; choose another -o")


def with_class_names(manifest: Manifest, names: tuple[str, ...] | None) -> Manifest:
    """``manifest`` naming its classes ``names`` (None: as it was); a list that does not fit is bad input."""
    from ganedge.artifacts.manifest import check_class_names

    if names is None:
        return manifest
    if not manifest.num_classes:
        raise BadInputError("--class-names is for conditional models; this generator is unconditional")
    try:
        return manifest.replace(class_names=check_class_names(tuple(names), manifest.num_classes))
    except ValueError as exc:
        raise BadInputError(f"--class-names: {exc}") from None


def write_model(model, path: Path) -> tuple[int, str]:
    """Serialize ``model`` to ``path`` atomically; returns (size in bytes, sha256)."""
    data = model.SerializeToString()
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return len(data), sha256_file(path)


# --- the whole pipeline -------------------------------------------------------------------------


def export_onnx(source, output: str | os.PathLike, options: ExportOptions = ExportOptions(),
                log: Log = lambda _: None, spec=None) -> ExportResult:
    """Export, validate and write the requested precisions. Returns the result; never raises on a failed gate.

    ``source``: a run directory, a module reference or a TorchSource; ``spec`` (a ModuleSpec) describes a
    module reference (latent dim, classes, output range, weights file, class names).
    """
    from ganedge.models.load import TorchSource, load_source

    require_all(EXPORT_MODULES, "exporting to ONNX")  # before minutes of work, every missing extra at once
    started = time.perf_counter()
    paths = variant_paths(output, options.precisions)
    for path in paths.values():
        check_output_path(path)
    src = source if isinstance(source, TorchSource) else load_source(source, ema=options.ema, spec=spec)
    settings = settings_for_source(src.manifest.arch, src.is_run_dir)
    if options.class_names is not None:
        src.manifest = with_class_names(src.manifest, options.class_names)
    opset = check_opset(options.opset if options.opset is not None else settings.opset)
    result = ExportResult(source=src.text, manifest=src.manifest, opset=opset, weights=src.weights,
                          validated=options.validate, is_run_dir=src.is_run_dir)
    fp32, reference, export_seconds = _fp32_graph(src, settings, options, opset, result, log)
    dataset_options = src.config.dataset_options if src.config else None
    export_variants(fp32, reference, settings, options, paths, result, log, export_seconds, dataset_options)
    result.seconds = time.perf_counter() - started
    return result


def export_variants(fp32, reference, settings: ExportSettings, options: ExportOptions, paths: dict[str, Path],
                    result: ExportResult, log: Log, fp32_seconds: float = 0.0, dataset_options=None) -> None:
    """Validate the fp32 graph, derive and validate the other precisions, write what passed (into ``result``).

    ``reference``: what every variant is graded against (PyTorch's outputs, or the original file's for
    an adopted ONNX); None skips validation.
    """
    manifest = result.manifest
    precisions = options.precisions
    gates = settings.gates.override(atol=options.atol, min_psnr=options.min_psnr,
                                    max_uint8_diff=options.max_uint8_diff, max_fd_increase=options.max_fd_increase)
    fp32_variant = VariantResult("fp32", paths.get("fp32", next(iter(paths.values()))), requested="fp32" in precisions)
    # The fp32 graph is always validated (fp16/int8 derive from it) and always reported, even when
    # only a variant was asked for: its failure must fail the export.
    validate_variant(fp32_variant, fp32, reference, gates, log, name=None if fp32_variant.requested else "the fp32 graph")
    fp32_variant.seconds += fp32_seconds
    result.variants.append(fp32_variant)
    built: dict[str, Any] = {"fp32": fp32} if fp32_variant.requested else {}
    if fp32_variant.failed and not options.keep_failed:
        for p in precisions:
            if p != "fp32":
                result.variants.append(VariantResult(p, paths[p], skipped="the fp32 graph failed its gate"))
        log("fp32 export failed its gate: nothing written.")
        return
    fp32_fd = None
    for precision in (p for p in precisions if p != "fp32"):
        variant = VariantResult(precision, paths[precision])
        t0 = time.perf_counter()
        log(f"Building the {precision} variant...")
        if precision == "fp16":
            model = build_fp16(fp32, reference, gates, options, variant, log)
        else:
            model = build_int8(fp32, manifest, settings, reference, gates, variant, log)
            if model is None:  # the quantizer gave up on this graph; said in the variant, nothing to write
                variant.required = not options.skip_unoffered_int8
                result.variants.append(variant)
                continue
            check_model(model, where=f"{precision} model")
            if not int8_offered(variant, fp32, model, manifest, options, log):
                result.variants.append(variant)
                continue
            validate_variant(variant, model, reference, gates, log)
            if variant.gate is not None:
                fp32_fd = int8_fd(variant, fp32, model, manifest, settings, options, gates, log,
                                   dataset_options=dataset_options)
        variant.seconds += time.perf_counter() - t0
        result.variants.append(variant)
        built[precision] = model
    _write_all(result, built, manifest, options, result.opset, result.weights, fp32_fd, log)


def _fp32_graph(src, settings: ExportSettings, options: ExportOptions, opset: int, result: ExportResult, log: Log):
    """(the checked fp32 ModelProto, the PyTorch reference or None, seconds); records the batch decision in ``result``."""
    from ganedge.export.batching import export_with_batch_fallback

    if "output_cast" in src.manifest.extra:
        log(f"note: the module's images are {src.manifest.extra['output_cast'].split(' ')[0]}; the export casts them to "
            "float32, the type every ganedge runtime takes")
    if src.is_run_dir and options.ema and src.weights != "G_ema":
        log(f"note: {src.text} has no EMA weights (G_ema); exporting the raw generator G.")
    log(f"Exporting {src.manifest.arch} generator ({src.weights} weights) from {src.text} with torch.onnx "
        f"(opset {opset})...")
    t0 = time.perf_counter()
    fp32, batch = export_with_batch_fallback(src.generator, src.manifest, opset, options.fixed_batch, log)
    check_model(fp32)
    check_io_contract(fp32, src.manifest, fixed_batch=batch.fixed)
    result.batch, result.fixed_batch = batch.describe(), batch.fixed
    log(f"  batch: {result.batch}")
    reference = None
    if options.validate:
        from ganedge.export.validate import reference_outputs

        reference = reference_outputs(src.generator, src.manifest, settings)
    return fp32, reference, time.perf_counter() - t0


def _write_all(result: ExportResult, built: dict, manifest: Manifest, options: ExportOptions, opset: int,
               weights: str, fp32_fd: float | None, log: Log) -> None:
    from ganedge.export.lint import lint_tensorrt
    from ganedge.artifacts.onnx_meta import set_manifest

    for variant in result.variants:
        model = built.get(variant.precision)
        if not variant.requested:
            continue
        if model is None or (variant.failed and not options.keep_failed):
            if variant.failed:
                log(f"{variant.precision}: failed its gate, not written ({variant.path}).")
            continue
        fd = variant.gate.fd.get("fd") if variant.gate is not None and variant.gate.fd else None
        if variant.precision == "fp32":
            fd = fp32_fd
        export_facts = {"opset": opset, "weights": weights, "validated": variant.gate is not None,
                        "passed": None if variant.gate is None else variant.gate.passed,
                        "rewrites": variant.rewrites, "batch": result.batch, "fixed_batch": result.fixed_batch}
        if variant.kept_fp32:
            export_facts["kept_fp32"] = variant.kept_fp32
        if variant.speed is not None:
            export_facts["int8_speed"] = variant.speed.to_dict()
        if variant.gate is not None:
            export_facts["psnr_db"] = variant.gate.to_dict()["psnr_db"]
            export_facts["max_abs_error"] = variant.gate.stats.max_abs
        variant_manifest = manifest.replace(precision=variant.precision, fd=fd,
                                            extra={**manifest.extra, "export": export_facts})
        set_manifest(model, variant_manifest)
        model.producer_name, model.producer_version = "ganedge", manifest.ganedge_version  # the quantizer renames it
        if options.lint:
            variant.lint = lint_tensorrt(model)
            lines = variant.lint.lines()
            log(f"{variant.precision} {lines[0]}")
            for line in lines[1:]:
                log(line)
        variant.size_bytes, variant.sha256 = write_model(model, variant.path)
        variant.written = True
        log(f"Wrote {variant.path} ({variant.precision}, {variant.size_bytes / 1e6:.2f} MB)"
            + (" despite failing its gate (--keep-failed)" if variant.failed else ""))
