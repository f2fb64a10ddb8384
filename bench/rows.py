"""Result rows (flat dicts: docs/contract.md's fields plus extras), stability warnings and summary lines.

Units: latencies in milliseconds per call (one call = one batch), throughput in images per
second (not batches: unlike trtexec's qps, a row at batch 64 and one at batch 1 compare
directly), ``pct_of_peak`` in percent of the measured GEMM peak for the row's precision.
"""

from __future__ import annotations

from typing import Any

from ganedge.bench.flops import Traffic
from ganedge.bench.peak import peak_gflops
from ganedge.bench.stats import LatencyStats
from ganedge.bench.variants import Case

# docs/contract.md's row fields, in this order first (CSV columns, table order); quality ones with --quality.
CORE_FIELDS = ("model", "backend", "device", "precision", "batch_size", "images_per_s", "min_ms", "mean_ms", "p50_ms",
               "p90_ms", "p95_ms", "p99_ms", "max_ms", "cv", "cold_start_s", "peak_mem_mb", "flops_per_sample",
               "pct_of_peak")
QUALITY_FIELDS = ("psnr_db", "fd")
EXTRA_FIELDS = ("checkpoint", "artifact", "mode", "n_calls", "slices", "timed_s", "unstable", "achieved_gflops", "peak_key",
                "bytes_per_sample", "pct_of_roofline", "load_s", "first_call_s", "peak_mem_delta_mb", "peak_gpu_mem_mb",
                "compute_timer", "compute_images_per_s", "compute_mean_ms", "compute_p50_ms", "compute_p99_ms",
                "compute_cv", "max_level_diff", "fd_increase", "quality_reference", "threads")


def build_row(case: Case, timed: dict[str, Any], cold: dict[str, Any] | None, flops: int | None,
              peak: dict[str, Any] | None, quality: Any, threads: int, checkpoint: str | None = None,
              traffic: Traffic | None = None) -> dict[str, Any]:
    variant, batch = case.variant, case.batch_size
    e2e: LatencyStats = timed["e2e"]
    images_per_s = e2e.items_per_s(batch)
    row: dict[str, Any] = {
        "model": variant.artifact.name,
        "backend": variant.backend,
        "device": variant.device,
        "precision": variant.precision,
        "batch_size": batch,
        "images_per_s": images_per_s,
        "min_ms": e2e.min_ms, "mean_ms": e2e.mean_ms, "p50_ms": e2e.p50_ms, "p90_ms": e2e.p90_ms,
        "p95_ms": e2e.p95_ms, "p99_ms": e2e.p99_ms, "max_ms": e2e.max_ms,
        "cv": e2e.cv,
        "cold_start_s": cold["load_s"] + cold["first_call_s"] if cold else None,
        "peak_mem_mb": cold["peak_mem_mb"] if cold else None,
        "flops_per_sample": flops,
        "pct_of_peak": None,
    }
    if quality is not None:
        row.update({"psnr_db": quality.psnr_db, "fd": quality.fd})
    ceiling, key = peak_gflops(peak, variant.device, variant.precision)
    achieved = flops * images_per_s / 1e9 if flops else None
    if achieved is not None and ceiling:
        row["pct_of_peak"] = 100.0 * achieved / ceiling
    row.update({
        "checkpoint": checkpoint,  # the weights this variant came from (one name per source_sha256)
        "artifact": str(variant.artifact.path),
        "mode": variant.mode,
        "n_calls": e2e.n,
        "slices": timed.get("slices"),
        "timed_s": e2e.total_s,
        "unstable": None,  # set by stability_warnings
        "achieved_gflops": achieved,
        "peak_key": key if row["pct_of_peak"] is not None else None,
        **_roofline(flops, traffic, batch, variant, peak, ceiling, achieved),
        "load_s": cold.get("load_s") if cold else None,
        "first_call_s": cold.get("first_call_s") if cold else None,
        "peak_mem_delta_mb": cold.get("peak_mem_delta_mb") if cold else None,
        "peak_gpu_mem_mb": cold.get("peak_gpu_mem_mb") if cold else None,
    })
    compute: LatencyStats | None = timed.get("compute")
    row["compute_timer"] = timed.get("compute_timer")
    row["compute_images_per_s"] = compute.items_per_s(batch) if compute else None
    row["compute_mean_ms"] = compute.mean_ms if compute else None
    row["compute_p50_ms"] = compute.p50_ms if compute else None
    row["compute_p99_ms"] = compute.p99_ms if compute else None
    row["compute_cv"] = compute.cv if compute else None
    if quality is not None:
        row.update(max_level_diff=quality.max_level_diff, fd_increase=quality.fd_increase,
                   quality_reference=quality.reference)
    row["threads"] = threads if not variant.device.startswith("cuda") else None
    return row


def _roofline(flops: int | None, traffic: Traffic | None, batch: int, variant, peak: dict[str, Any] | None,
              ceiling: float | None, achieved: float | None) -> dict[str, Any]:
    """``bytes_per_sample`` and ``pct_of_roofline``: achieved over min(peak, FLOP/byte x copy bandwidth)."""
    if traffic is None:
        return {"bytes_per_sample": None, "pct_of_roofline": None}
    moved = traffic.bytes_per_sample(batch, variant.precision)
    side = (peak or {}).get("gpu" if variant.device.startswith("cuda") else "cpu") or {}
    bandwidth = side.get("d2d_copy_gbps", side.get("copy_gbps"))  # GB/s
    pct = None
    if flops and ceiling and bandwidth and achieved is not None:
        pct = 100.0 * achieved / min(ceiling, flops / moved * bandwidth)
    return {"bytes_per_sample": moved, "pct_of_roofline": pct}


def label(row: dict[str, Any]) -> str:
    graphs = "+graphs" if row.get("mode") == "graphs" else ""
    return f"{row['model']} {row['backend']}/{row['precision']}{graphs} b={row['batch_size']}"


def stability_warnings(rows: list[dict[str, Any]], max_cv: float, listed: int = 3) -> list[str]:
    """Mark each row's ``unstable`` and say which ones should not be trusted, and why.

    A few unstable rows are named one by one; more than ``listed`` get one line (the table
    marks each with ``!``), so a busy machine does not bury the report under warnings.
    """
    for row in rows:
        row["unstable"] = row["cv"] is None or row["cv"] > max_cv
    unstable = [r for r in rows if r["unstable"]]
    advice = ("the machine was busy or its clock changed: quiet it or raise --duration, "
              "and compare p50 rather than mean")
    if len(unstable) > listed:
        worst = max(unstable, key=lambda r: r["cv"] if r["cv"] is not None else float("inf"))
        cv = f"cv {worst['cv']:.0%}" if worst["cv"] is not None else "a single call"
        return [f"{len(unstable)} of {len(rows)} configurations vary by more than cv {max_cv:.0%} from call to call "
                f"(worst: {label(worst)}, {cv}); {advice}"]
    warnings = []
    for row in unstable:
        if row["cv"] is None:
            warnings.append(f"{label(row)}: only {row['n_calls']} timed call, no spread to judge; raise --duration")
        else:
            warnings.append(f"{label(row)}: per-call times vary by cv {row['cv']:.0%} (> {max_cv:.0%}); {advice}")
    return warnings


def within_budget(row: dict[str, Any], min_psnr: float, max_fd_increase: float) -> bool | None:
    """Whether a row's quality is within the budget; None when it was not measured against a reference."""
    if row.get("quality_reference") is None:
        return None
    if row.get("max_level_diff") == 0:  # the reference itself, or identical to it
        return True
    psnr = row.get("psnr_db")
    if psnr is None or psnr < min_psnr:
        return False
    increase = row.get("fd_increase")
    return increase is None or increase <= max_fd_increase


def summary_lines(rows: list[dict[str, Any]], config) -> list[str]:
    lines = []
    if config.quality:
        eligible = [r for r in rows if within_budget(r, config.min_psnr, config.max_fd_increase)]
        budget = f"PSNR >= {config.min_psnr:g} dB, FD increase <= {config.max_fd_increase:.0%}"
        if eligible:
            best = max(eligible, key=lambda r: r["images_per_s"])
            quality = "identical to fp32" if best.get("max_level_diff") == 0 else f"PSNR {best['psnr_db']:.1f} dB"
            if best.get("fd_increase") is not None and best.get("max_level_diff") != 0:
                quality += f", FD {best['fd_increase']:+.1%}"
            lines.append(f"fastest within the quality budget ({budget}): {label(best)} "
                         f"at {best['images_per_s']:.1f} images/s ({quality})")
        else:
            lines.append(f"no configuration meets the quality budget ({budget})")
    fastest = max(rows, key=lambda r: r["images_per_s"])
    lines.append(f"highest throughput: {label(fastest)} at {fastest['images_per_s']:.1f} images/s")
    single = [r for r in rows if r["batch_size"] == 1]
    if single:
        quickest = min(single, key=lambda r: r["p99_ms"])
        lines.append(f"lowest p99 latency at batch 1: {label(quickest)} at {quickest['p99_ms']:.2f} ms")
    return lines + speedup_lines(rows)


def speedup_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Per checkpoint and batch size, the fastest row against onnxruntime fp32 (the default runtime),
    where both were measured in this run: the ratio the CPU backends are judged by."""
    lines = []
    groups: dict[tuple[Any, int], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row.get("checkpoint"), row["batch_size"]), []).append(row)
    for (checkpoint, batch), members in groups.items():
        base = [r for r in members
                if r.get("backend") == "onnxruntime" and r.get("precision") == "fp32" and r.get("device") == "cpu"]
        if not base or len(members) < 2 or not base[0]["images_per_s"]:
            continue
        best = max(members, key=lambda r: r["images_per_s"])
        ratio = best["images_per_s"] / base[0]["images_per_s"]
        lines.append(f"{checkpoint} b={batch}: fastest {best['backend']}/{best['precision']} "
                     f"{best['images_per_s']:,.0f} images/s = {ratio:.2f}x onnxruntime fp32 "
                     f"({base[0]['images_per_s']:,.0f})")
    return lines
