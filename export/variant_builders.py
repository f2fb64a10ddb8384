"""Building and grading the fp16 and int8 variants of an exported fp32 graph (the pipeline's middle steps).

``build_fp16`` (with the fallback that keeps nodes in fp32), ``build_int8`` (sub-pixel rewrite, then
static QDQ; per-tensor scales when the quantizer fails per channel), ``int8_offered`` (measured on this
machine's runtimes), ``validate_variant`` (the gate) and ``int8_fd`` (the gate's FD half). Each writes
what it learned into the VariantResult it is given.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

from ganedge.artifacts.manifest import Manifest
from ganedge.errors import ValidationError
from ganedge.export.check import check_model
from ganedge.export.results import VariantResult

Log = Callable[[str], None]


def int8_offered(variant: VariantResult, fp32, model, manifest: Manifest, options, log: Log) -> bool:
    """Measure int8 against fp32 on this machine's CPU runtimes (export/int8_speed.py). Under
    ``--precision all`` an int8 that is nowhere faster is skipped (False); asked for by name, it is
    built anyway, with a note."""
    from ganedge.export.int8_speed import OFFER_MARGIN, measure_int8_speed

    log("  timing int8 against fp32 on this machine's CPU runtimes...")
    variant.speed = measure_int8_speed(fp32, model, manifest)
    log(f"  {variant.speed.summary()}")
    if variant.speed.offered:
        return True
    why = f"int8 is not {OFFER_MARGIN:g}x faster than fp32 on any installed runtime on this machine"
    if options.skip_unoffered_int8:
        variant.skipped = f"not offered: {why}"
        log(f"note: {why}; skipping int8 (ask for it with --precision int8 to write it anyway).")
        return False
    log(f"note: {why}; writing it because it was asked for.")
    return True


def build_fp16(fp32, reference, gates, options, variant: VariantResult, log: Log):
    """The fp16 model, validated; with the fallback on, nodes kept in fp32 until it passes."""
    from ganedge.export.fp16_fallback import fp16_with_fallback
    from ganedge.export.precision import to_fp16

    if reference is None:  # --no-validate: nothing to fall back on
        return to_fp16(fp32)

    def validate(model, kept):
        from ganedge.export.fp16_fallback import emulate_fp16
        from ganedge.export.validate import worse_of, validate_session
        from ganedge.sdk.backends.onnxrt.loader import create_session

        check_model(model, where="fp16 model")
        against = f"fp32 {reference.against}"
        real = validate_session(create_session(model).session, reference, "fp16", gates, against=against)
        emulated = validate_session(create_session(emulate_fp16(fp32, kept)).session, reference, "fp16", gates,
                                    against=f"{against}, fp16 emulated (every fp16 tensor rounded through float16)")
        return worse_of(real, emulated)

    t0 = time.perf_counter()
    outcome = fp16_with_fallback(fp32, reference, validate, log, fallback=options.fp16_fallback)
    variant.gate, variant.kept_fp32, variant.fallback = outcome.gate, outcome.kept_fp32, outcome.steps
    variant.seconds += time.perf_counter() - t0
    if outcome.kept_fp32:
        log(f"  fp16 fallback kept {len(outcome.kept_fp32)} node(s) in fp32: {', '.join(outcome.kept_fp32[:8])}"
            + (" ..." if len(outcome.kept_fp32) > 8 else ""))
    for line in variant.gate.report_lines(variant.path.name):
        log(line)
    return outcome.model


def build_int8(fp32, manifest, settings, reference, gates, variant, log):
    import onnx

    from ganedge.export.batching import static_batch_of
    from ganedge.export.precision import to_int8
    from ganedge.export.rewrite import subpixel_convtranspose

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
    attempts = [settings] + ([dataclasses.replace(settings, per_channel=False)] if settings.per_channel else [])
    for attempt in attempts:
        try:
            model = to_int8(base, manifest, attempt, fixed_batch=static_batch_of(fp32))
        except Exception as exc:  # onnxruntime's quantizer raises assorted types on graphs it cannot handle
            first = " ".join(str(exc).split())[:200] or type(exc).__name__
            variant.skipped = f"onnxruntime's int8 quantizer failed on this graph ({type(exc).__name__}: {first})"
            log(f"  int8 {'per-channel' if attempt.per_channel else 'per-tensor'}: {variant.skipped}")
            continue
        if not attempt.per_channel and settings.per_channel:
            variant.rewrites.append("per-tensor weight scales (the quantizer failed per channel)")
        variant.skipped = None
        return model
    return None


def _check_rewrite_exact(model, reference, gates, log: Log) -> None:
    """The rewrite must not change the fp32 function; a mismatch is a bug, not a user error."""
    from ganedge.sdk.backends.onnxrt.loader import create_session
    from ganedge.export.validate import validate_session

    check = validate_session(create_session(model).session, reference, "fp32", gates, against=reference.against)
    log(f"  rewritten fp32 graph vs {reference.against}: max diff {check.stats.max_abs:.3g}")
    if not check.passed:
        raise ValidationError(f"the sub-pixel rewrite changed the fp32 output (max diff {check.stats.max_abs:.3g}); "
                              "please report this bug with the run's config.json")


def validate_variant(variant: VariantResult, model, reference, gates, log: Log, name: str | None = None) -> None:
    if reference is None:
        return
    from ganedge.sdk.backends.onnxrt.loader import create_session
    from ganedge.export.validate import validate_session

    t0 = time.perf_counter()
    against = reference.against if variant.precision == "fp32" else f"fp32 {reference.against}"
    variant.gate = validate_session(create_session(model).session, reference, variant.precision, gates, against=against)
    variant.seconds += time.perf_counter() - t0
    for line in variant.gate.report_lines(name or variant.path.name):
        log(line)


def int8_fd(variant, fp32, model, manifest, settings, options, gates, log: Log, dataset_options=None) -> float | None:
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
