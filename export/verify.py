"""``ganedge verify``: do two artifacts make the same images for the same seeds?

Both artifacts (run directory, ONNX file or TensorRT engine, in any pairing) are opened with
``ganedge.sdk.load`` and fed the same latents (``ganedge.latents``) and labels (seed mod
num_classes), through ``generate`` so the float outputs can be compared before rounding.
A is the reference. The report is Polygraphy's: mean/median/max absolute and relative error
with the location of the max, the minimum tolerance that would have passed, plus PSNR on
uint8 images per image and the worst seeds.

Default tolerance follows the less precise of the two manifests (the export gates' defaults): both
fp32 -> atol 1e-4 on the float output; fp16/bf16 -> PSNR >= 40 dB; int8 -> PSNR >= 30 dB.
``atol``/``min_psnr`` given by the user replace the defaults.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ganedge.errors import BadInputError
from ganedge.images import to_uint8_nhwc
from ganedge.latents import check_seeds, latents
from ganedge.artifacts.manifest import Manifest

from ganedge.export.compare import ErrorStats, ImageStats, error_stats, format_db, image_stats, json_safe, per_image_max_abs
from ganedge.export.settings import Gates
from ganedge.export.validate import FAIL, PASS, labels_for

_PRECISION_RANK = {"fp32": 0, "bf16": 1, "fp16": 1, "int8": 2}
MAX_ELEMENTS = 200_000_000  # float outputs of both sides are held for exact medians; ~1.6 GB at this size


def default_tolerances(a: Manifest, b: Manifest, gates: Gates = Gates()) -> dict[str, float]:
    worst = max((a.precision, b.precision), key=lambda p: _PRECISION_RANK.get(p, 2))
    if worst == "fp32":
        return {"atol": gates.atol}
    return {"min_psnr": gates.min_psnr_int8 if worst == "int8" else gates.min_psnr_fp16}


def check_compatible(a: Manifest, b: Manifest, name_a: str, name_b: str) -> None:
    for attr in ("latent_dim", "image_shape", "num_classes", "output_range"):
        va, vb = getattr(a, attr), getattr(b, attr)
        if va != vb:
            raise BadInputError(f"{name_a} and {name_b} are different kinds of model: {attr} {va} vs {vb}; "
                                "verify compares artifacts of one generator")


@dataclass
class VerifyResult:
    a: dict[str, Any]
    b: dict[str, Any]
    seeds: list[int]
    stats: ErrorStats
    images: ImageStats
    worst: list[dict[str, Any]]
    tolerances: dict[str, float]
    per_image_max_abs: np.ndarray  # (N,) largest float difference per image
    checks: list[tuple[bool, str]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(ok for ok, _ in self.checks)

    def report_lines(self) -> list[str]:
        s, img = self.stats, self.images
        lines = [f"Comparing {self.a['path']} [{self.a['backend']}, {self.a['precision']}] (reference) with "
                 f"{self.b['path']} [{self.b['backend']}, {self.b['precision']}] on {len(self.seeds)} seeds "
                 f"({_seed_text(self.seeds)}):"]
        lines.append(f"\tabsolute error: mean {s.mean_abs:.3g}, median {s.median_abs:.3g}, max {s.max_abs:.3g} "
                     f"at {s.max_abs_at}")
        lines.append(f"\trelative error: mean {s.mean_rel:.3g}, median {s.median_rel:.3g}, max {s.max_rel:.3g} "
                     f"at {s.max_rel_at}")
        lines.append(f"\tuint8 images: PSNR {format_db(img.psnr_db)}, largest difference {img.max_level} level(s)")
        lines.append("\tworst seeds: " + ", ".join(
            f"{w['seed']} ({format_db(w['psnr_db'])}, max abs {w['max_abs']:.3g})" for w in self.worst))
        if s.nonfinite:
            lines.append(f"\t{s.nonfinite} NaN/Inf values in B")
        for ok, text in self.checks:
            lines.append(f"\t{PASS if ok else FAIL} {text}")
        lines.append(f"\tminimum tolerance that would pass: --atol {s.min_atol:.3g} (rtol {s.min_rtol:.3g}), "
                     f"--min-psnr {_floor2(img.psnr_db)}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return json_safe({
            "a": self.a, "b": self.b, "passed": self.passed, "n": len(self.seeds), "seeds": _seed_text(self.seeds),
            "tolerances": self.tolerances, "checks": [{"ok": ok, "text": text} for ok, text in self.checks],
            "error": self.stats.to_dict(), "psnr_db": self.images.psnr_db,
            "identical_images": math.isinf(self.images.psnr_db), "max_uint8_diff": self.images.max_level,
            "worst_seeds": self.worst,
            "per_image": [{"seed": s, "psnr_db": float(p), "max_abs": float(m), "max_level": int(lv)}
                          for s, p, m, lv in zip(self.seeds, self.images.per_image_psnr, self.per_image_max_abs,
                                                 self.images.per_image_max_level)],
            "min_passing": {"atol": self.stats.min_atol, "rtol": self.stats.min_rtol, "min_psnr": self.images.psnr_db},
        })


def compare_generators(gen_a, gen_b, seeds, *, atol: float | None = None, min_psnr: float | None = None,
                       batch_size: int = 64, names: tuple[str, str] = ("A", "B"), worst_k: int = 5) -> VerifyResult:
    """Compare two loaded ``ganedge.sdk`` Generators on ``seeds``; A is the reference."""
    seeds = check_seeds(seeds)
    if seeds.size == 0:
        raise BadInputError("no seeds to compare; use e.g. --seeds 0-255")
    ma, mb = gen_a.manifest, gen_b.manifest
    check_compatible(ma, mb, *names)
    if seeds.size * math.prod(ma.image_shape) > MAX_ELEMENTS:
        raise BadInputError(f"{seeds.size} seeds of {list(ma.image_shape)} images are too many for an exact comparison; "
                            "use fewer seeds (e.g. --seeds 0-1023)")
    tolerances = default_tolerances(ma, mb) if atol is None and min_psnr is None else {
        k: v for k, v in (("atol", atol), ("min_psnr", min_psnr)) if v is not None}
    out_a = np.empty((seeds.size, *ma.image_shape), dtype=np.float32)  # (N, C, H, W)
    out_b = np.empty_like(out_a)
    for start in range(0, seeds.size, batch_size):
        chunk = seeds[start:start + batch_size]
        z = latents(chunk, ma.latent_dim)  # (n, latent_dim)
        labels = labels_for(chunk, ma.num_classes)
        out_a[start:start + len(chunk)] = gen_a.generate(z, labels)
        out_b[start:start + len(chunk)] = gen_b.generate(z, labels)
    stats = error_stats(out_a, out_b)
    span = gen_a.manifest.output_range
    images = image_stats(to_uint8_nhwc(out_a, output_range=span), to_uint8_nhwc(np.nan_to_num(out_b), output_range=span))
    seed_list = [int(s) for s in seeds]
    max_abs = per_image_max_abs(out_a, out_b)
    worst = images.worst(seed_list, k=worst_k, per_image_max_abs=max_abs)
    result = VerifyResult(a=_describe(gen_a, names[0]), b=_describe(gen_b, names[1]), seeds=seed_list, stats=stats,
                          images=images, worst=worst, tolerances=tolerances, per_image_max_abs=max_abs)
    if "atol" in tolerances:
        ok = stats.max_abs <= tolerances["atol"]
        result.checks.append((ok, f"max abs error {stats.max_abs:.3g} {'<=' if ok else '>'} atol {tolerances['atol']:g}"))
    if "min_psnr" in tolerances:
        ok = images.psnr_db >= tolerances["min_psnr"]
        result.checks.append((ok, f"PSNR {format_db(images.psnr_db)} {'>=' if ok else '<'} {tolerances['min_psnr']:g} dB"))
    result.checks.append((stats.nonfinite == 0, "no NaN/Inf" if not stats.nonfinite else f"{stats.nonfinite} NaN/Inf"))
    return result


def verify_artifacts(path_a, path_b, seeds, *, atol=None, min_psnr=None, batch_size: int = 64,
                     device: str = "auto", module_options: dict | None = None) -> VerifyResult:
    """Load both artifacts with ``ganedge.sdk.load`` and compare them; ``module_options`` (latent_dim,
    weights, num_classes, output_range, class_names) describe whichever of them is a module reference."""
    from ganedge import sdk
    from ganedge.models.reference import looks_like_reference

    def load(path):
        return sdk.load(path, device=device, **(module_options or {} if looks_like_reference(str(path)) else {}))

    with load(path_a) as gen_a, load(path_b) as gen_b:
        return compare_generators(gen_a, gen_b, seeds, atol=atol, min_psnr=min_psnr, batch_size=batch_size,
                                  names=(str(path_a), str(path_b)))


def _describe(gen, name: str) -> dict[str, Any]:
    return {"path": name, "backend": gen.backend, "device": gen.device, "precision": gen.precision,
            "manifest_precision": gen.manifest.precision}


def _seed_text(seeds: list[int]) -> str:
    """Compact ranges: [0, 1, 2, 5] -> '0-2,5'."""
    parts, start = [], None
    for i, s in enumerate(seeds):
        if start is None:
            start = s
        if i + 1 == len(seeds) or seeds[i + 1] != s + 1:
            parts.append(str(start) if start == s else f"{start}-{s}")
            start = None
    return ",".join(parts)


def _floor2(value: float) -> str:
    return "inf" if math.isinf(value) else f"{math.floor(value * 100) / 100:g}"
