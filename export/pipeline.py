"""``ganedge export onnx``: the pipeline, as small steps each callable alone (STYLE.md, practice 4).

    load_source -> export_generator -> check_model/check_io_contract      (torch_export, check)
      -> [fp16: to_fp16] [int8: subpixel_convtranspose -> to_int8]       (rewrite, precision)
      -> validate_session (+ fd_comparison for int8)                      (validate, quality)
      -> write_model, with the manifest in the metadata                   (metadata, fsutil)

Every variant is validated before anything is written; a variant that fails its gate is not
written (``keep_failed`` writes it anyway, and the result still says it failed). If the fp32
graph itself fails, nothing is written at all: fp16 and int8 are derived from it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ganedge.errors import BadInputError, ConfigError, OutputError, ValidationError
from ganedge.fsutil import atomic_path
from ganedge.artifacts.manifest import Manifest, sha256_file

from ganedge.export.settings import PRECISIONS, ExportSettings, check_opset, settings_for

Log = Callable[[str], None]


@dataclass(frozen=True)
class ExportOptions:
    precisions: tuple[str, ...] = ("fp32",)
    opset: int | None = None  # None: the architecture's default
    ema: bool = True
    validate: bool = True
    keep_failed: bool = False
    skip_unoffered_int8: bool = False  # "all": leave int8 out (with a notice) where it is not offered
    atol: float | None = None
    min_psnr: float | None = None
    max_uint8_diff: int | None = None
    max_fd_increase: float | None = None
    fd: bool = True  # False: skip the FD half of the int8 gate (reported as skipped)
    fd_samples: int | None = None
    lint: bool = True
    class_names: tuple[str, ...] | None = None  # set/override the manifest's class names (--class-names)


@dataclass
class VariantResult:
    precision: str
    path: Path
    requested: bool = True  # False: the fp32 base of an fp16/int8-only export, validated but not written
    written: bool = False
    skipped: str | None = None  # why the variant was not built
    gate: Any = None  # validate.GateResult
    lint: Any = None  # lint.LintReport
    rewrites: list[str] = field(default_factory=list)
    seconds: float = 0.0
    size_bytes: int | None = None
    sha256: str | None = None

    @property
    def failed(self) -> bool:
        return self.gate is not None and not self.gate.passed

    def to_dict(self) -> dict[str, Any]:
        return {"precision": self.precision, "path": str(self.path) if self.requested else None,
                "requested": self.requested, "written": self.written,
                "skipped": self.skipped, "passed": None if self.gate is None else self.gate.passed,
                "seconds": round(self.seconds, 3), "size_bytes": self.size_bytes, "sha256": self.sha256,
                "rewrites": self.rewrites, "gate": None if self.gate is None else self.gate.to_dict(),
                "lint": None if self.lint is None else self.lint.to_dict()}


@dataclass
class ExportResult:
    run_dir: Path
    manifest: Manifest
    opset: int
    weights: str  # "G_ema" or "G"
    validated: bool
    variants: list[VariantResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not any(v.failed for v in self.variants)

    def failure_summary(self) -> str:
        parts = []
        for v in self.variants:
            if v.failed:
                loosest = v.gate.min_passing()
                key = "atol" if v.precision == "fp32" else "min_psnr"
                parts.append(f"{v.precision} failed its gate (would pass with {key}={loosest[key]:.3g})"
                             if loosest.get(key) is not None else f"{v.precision} failed its gate (NaN/Inf)")
        kept = [str(v.path) for v in self.variants if v.failed and v.written]
        if not parts:
            return "all gates passed"
        tail = f"; kept anyway: {', '.join(kept)}" if kept else "; nothing failing was written"
        return "; ".join(parts) + tail

    def to_dict(self) -> dict[str, Any]:
        return {"run_dir": str(self.run_dir), "arch": self.manifest.arch, "opset": self.opset,
                "weights": self.weights, "validated": self.validated, "passed": self.passed,
                "seconds": round(self.seconds, 3), "manifest": self.manifest.to_dict(),
                "variants": [v.to_dict() for v in self.variants]}


# --- steps ------------------------------------------------------------------------------------


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


def load_source(run_dir: str | os.PathLike, ema: bool = True):
    """(generator, RunConfig, ExportSettings, manifest, weights name) from a run directory."""
    from ganedge.artifacts.run_dir import is_run_dir, manifest_from_run
    from ganedge.models.load import load_generator


    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise BadInputError(f"{run_dir} does not exist; pass a run directory written by `ganedge train`")
    if not is_run_dir(run_dir):
        raise BadInputError(f"{run_dir} is not a ganedge run directory (no config.json); "
                            "`ganedge export onnx` exports a trained run")
    generator, config, meta = load_generator(run_dir, ema=ema)
    settings = settings_for(config.model.arch)
    manifest = manifest_from_run(run_dir, config, meta)
    return generator, config, settings, manifest, str(meta.get("weights", "G"))


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


def export_onnx(run_dir: str | os.PathLike, output: str | os.PathLike, options: ExportOptions = ExportOptions(),
                log: Log = lambda _: None) -> ExportResult:
    """Export, validate and write the requested precisions. Returns the result; never raises on a failed gate."""
    from ganedge.export.check import check_io_contract, check_model
    from ganedge.export.torch_export import export_generator

    started = time.perf_counter()
    paths = variant_paths(output, options.precisions)
    for path in paths.values():
        check_output_path(path)
    generator, config, settings, manifest, weights = load_source(run_dir, options.ema)
    manifest = with_class_names(manifest, options.class_names)
    precisions = _offered(options, settings, log)
    opset = check_opset(options.opset if options.opset is not None else settings.opset)
    gates = settings.gates.override(atol=options.atol, min_psnr=options.min_psnr,
                                    max_uint8_diff=options.max_uint8_diff, max_fd_increase=options.max_fd_increase)
    result = ExportResult(run_dir=Path(run_dir), manifest=manifest, opset=opset, weights=weights,
                          validated=options.validate)

    if options.ema and weights != "G_ema":
        log(f"note: {run_dir} has no EMA weights (G_ema); exporting the raw generator G.")
    log(f"Exporting {manifest.arch} generator ({weights} weights) from {run_dir} with torch.onnx (opset {opset})...")
    t0 = time.perf_counter()
    fp32 = export_generator(generator, manifest, opset)
    check_model(fp32)
    check_io_contract(fp32, manifest)
    export_seconds = time.perf_counter() - t0
    reference = None
    if options.validate:
        from ganedge.export.validate import reference_outputs

        reference = reference_outputs(generator, manifest, settings)
    built: dict[str, Any] = {}
    # The fp32 graph is always validated (fp16/int8 derive from it) and always reported, even when
    # only a variant was asked for: its failure must fail the export.
    fp32_variant = VariantResult("fp32", paths.get("fp32", Path(output)), requested="fp32" in precisions)
    _validate(fp32_variant, fp32, reference, gates, log, name=None if fp32_variant.requested else "the fp32 graph")
    fp32_variant.seconds = export_seconds + fp32_variant.seconds
    result.variants.append(fp32_variant)
    if fp32_variant.requested:
        built["fp32"] = fp32
    if fp32_variant.failed and not options.keep_failed:
        for p in precisions:
            if p != "fp32":
                result.variants.append(VariantResult(p, paths[p], skipped="the fp32 graph failed its gate"))
        log("fp32 export failed its gate: nothing written.")
        result.seconds = time.perf_counter() - started
        return result
    fp32_fd = None
    for precision in (p for p in precisions if p != "fp32"):
        variant = VariantResult(precision, paths[precision])
        t0 = time.perf_counter()
        log(f"Building the {precision} variant...")
        model = _build_variant(precision, fp32, manifest, settings, reference, gates, variant, log)
        check_model(model, where=f"{precision} model")
        _validate(variant, model, reference, gates, log)
        if precision == "int8" and variant.gate is not None:
            fp32_fd = _int8_fd(variant, fp32, model, manifest, settings, options, gates, log,
                               dataset_options=config.dataset_options)
        variant.seconds += time.perf_counter() - t0
        result.variants.append(variant)
        built[precision] = model
    _write_all(result, built, manifest, options, opset, weights, fp32_fd, log)
    result.seconds = time.perf_counter() - started
    return result


def _offered(options: ExportOptions, settings: ExportSettings, log: Log) -> tuple[str, ...]:
    precisions = options.precisions
    if "int8" in precisions and not settings.int8_offered:
        if not options.skip_unoffered_int8:
            raise ConfigError(settings.int8_not_offered_reason)
        log(f"note: {settings.int8_not_offered_reason}; skipping int8.")
        precisions = tuple(p for p in precisions if p != "int8")
    return precisions


def _build_variant(precision, fp32, manifest, settings, reference, gates, variant, log):
    import onnx

    from ganedge.export.precision import to_fp16, to_int8
    from ganedge.export.rewrite import subpixel_convtranspose

    if precision == "fp16":
        return to_fp16(fp32)
    base = onnx.ModelProto()
    base.CopyFrom(fp32)
    if settings.subpixel_rewrite:
        records = subpixel_convtranspose(base)
        variant.rewrites = [r.describe() for r in records]
        for line in variant.rewrites:
            log(f"  rewrite {line}")
        if records and reference is not None:
            _check_rewrite_exact(base, reference, gates, log)
    log(f"  calibrating int8 on {settings.calibration_samples} random latents (seeds from {settings.calibration_seed})")
    return to_int8(base, manifest, settings)


def _check_rewrite_exact(model, reference, gates, log: Log) -> None:
    """The rewrite must not change the fp32 function; a mismatch is a bug, not a user error."""
    from ganedge.sdk.backends.onnxrt.loader import create_session
    from ganedge.export.validate import validate_session

    check = validate_session(create_session(model).session, reference, "fp32", gates, against="PyTorch")
    log(f"  rewritten fp32 graph vs PyTorch: max diff {check.stats.max_abs:.3g}")
    if not check.passed:
        raise ValidationError(f"the sub-pixel rewrite changed the fp32 output (max diff {check.stats.max_abs:.3g}); "
                              "please report this bug with the run's config.json")


def _validate(variant: VariantResult, model, reference, gates, log: Log, name: str | None = None) -> None:
    if reference is None:
        return
    from ganedge.sdk.backends.onnxrt.loader import create_session
    from ganedge.export.validate import validate_session

    t0 = time.perf_counter()
    against = "PyTorch" if variant.precision == "fp32" else "fp32 PyTorch"
    variant.gate = validate_session(create_session(model).session, reference, variant.precision, gates, against=against)
    variant.seconds += time.perf_counter() - t0
    for line in variant.gate.report_lines(name or variant.path.name):
        log(line)


def _int8_fd(variant, fp32, model, manifest, settings, options, gates, log: Log, dataset_options=None) -> float | None:
    from ganedge.sdk.backends.onnxrt.loader import create_session
    from ganedge.export.quality import fd_comparison
    from ganedge.export.validate import grade_fd

    n = options.fd_samples or settings.fd_samples
    if options.fd:
        fd = fd_comparison(create_session(fp32).session, create_session(model).session, manifest, n, log, dataset_options)
    else:
        fd = {"fd": None, "fd_reference": None, "increase": None, "n": 0, "note": "skipped (--no-fd)"}
    grade_fd(variant.gate, fd, gates)
    log(variant.gate.checks[-1].line())
    return fd.get("fd_reference")


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
                        "rewrites": variant.rewrites}
        if variant.gate is not None:
            export_facts["psnr_db"] = variant.gate.to_dict()["psnr_db"]
            export_facts["max_abs_error"] = variant.gate.stats.max_abs
        variant_manifest = manifest.replace(precision=variant.precision, fd=fd, extra={"export": export_facts})
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
