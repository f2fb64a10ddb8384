"""A bench result as a terminal table, JSON, CSV and Markdown; files are written atomically.

JSON is strict (no NaN/Infinity: those become null), one object:
``{"machine", "peak", "results": [row...], "concurrency"?, "summary", "warnings", "settings"}``.
"""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any

from ganedge.fsutil import write_text_atomic
from ganedge.jsonable import json_safe

from ganedge.bench.core import BenchResult
from ganedge.bench.rows import CORE_FIELDS, EXTRA_FIELDS, QUALITY_FIELDS

# (header, row key, format) for the terminal and Markdown tables.
_TABLE = (
    ("model", "model", "s"), ("backend", "backend", "s"), ("device", "device", "s"), ("prec", "precision", "s"),
    ("batch", "batch_size", "d"), ("img/s", "images_per_s", "g"), ("p50 ms", "p50_ms", "g"),
    ("p99 ms", "p99_ms", "g"), ("cv", "cv", "%"), ("cold s", "cold_start_s", "g"), ("mem MB", "peak_mem_mb", "d"),
    ("GFLOP/s", "achieved_gflops", "g"), ("%peak", "pct_of_peak", "g"),
)
_QUALITY_TABLE = (("PSNR dB", "psnr_db", "psnr"), ("FD", "fd", "g"), ("dFD", "fd_increase", "%"))
_MODE_COLUMN = ("mode", "mode", "s")  # after "prec", when some variant runs as CUDA graphs
_DEVICE_COMPUTE_COLUMN = ("gpu img/s", "compute_images_per_s", "g")  # when CUDA events timed the compute alone
_ROOFLINE_COLUMN = ("%roof", "pct_of_roofline", "g")
_CONCURRENCY_TABLE = (
    ("model", "model", "s"), ("backend", "backend", "s"), ("prec", "precision", "s"), ("mode", "mode", "s"),
    ("clients", "clients", "d"), ("req/s", "requests_per_s", "g"), ("p50 ms", "p50_ms", "g"),
    ("p99 ms", "p99_ms", "g"), ("mean batch", "mean_batch", "g"),
)


def _cell(row: dict[str, Any], key: str, kind: str) -> str:
    value = row.get(key)
    if kind == "psnr":
        if value is None:
            return "ref" if row.get("max_level_diff") == 0 and row.get("quality_reference") else "-"
        return f"{value:.1f}"
    if value is None:
        return "-"
    if kind == "s":
        return str(value)
    if kind == "d":
        return f"{value:.0f}"
    if kind == "%":
        text = f"{value:+.1%}" if key == "fd_increase" else f"{value:.1%}"
        return text + ("!" if key == "cv" and row.get("unstable") else "")
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if magnitude >= 0.01 or value == 0 else f"{value:.1e}"


def _columns(result: BenchResult) -> tuple[tuple[str, str, str], ...]:
    rows = result.results
    columns = list(_TABLE)
    if any(r.get("mode") == "graphs" for r in rows):
        columns.insert(columns.index(("prec", "precision", "s")) + 1, _MODE_COLUMN)
    if any(r.get("compute_timer") == "cuda-event" for r in rows):
        columns.insert(columns.index(("p99 ms", "p99_ms", "g")) + 1, _DEVICE_COMPUTE_COLUMN)
    if any(r.get("pct_of_roofline") is not None for r in rows):
        columns.append(_ROOFLINE_COLUMN)
    if any(r.get("quality_reference") is not None or r.get("fd") is not None for r in rows):
        columns += _QUALITY_TABLE
    return tuple(columns)


def _grid(rows: list[dict[str, Any]], columns) -> tuple[list[str], list[list[str]], list[bool]]:
    """Headers, cells, and which columns are numbers (right-aligned)."""
    return ([c[0] for c in columns], [[_cell(r, key, kind) for _, key, kind in columns] for r in rows],
            [kind != "s" for _, _, kind in columns])


def _text_table(headers: list[str], body: list[list[str]], numeric: list[bool]) -> str:
    widths = [max(len(h), *(len(line[i]) for line in body)) if body else len(h) for i, h in enumerate(headers)]

    def fmt(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(headers), rule, *(fmt(line) for line in body)])


def _peak_line(result: BenchResult) -> str | None:
    peak = result.peak or {}
    cpu, gpu = peak.get("cpu"), peak.get("gpu")
    parts = []
    if cpu:
        low = "".join(f", {p} {cpu[f'{p}_gflops']:.1f} ({cpu.get(f'{p}_library', '?')})"
                      for p in ("bf16", "int8") if f"{p}_gflops" in cpu)
        units = f"; matrix units: {cpu['matrix_units']}" if cpu.get("matrix_units") else ""
        parts.append(f"CPU GEMM GFLOP/s ({cpu['threads']} threads): fp32 {cpu['fp32_gflops']:.1f} ({cpu['fp32_library']})"
                     f"{low}{units}; copy {cpu['copy_gbps']:.1f} GB/s")
    if gpu:
        flops = ", ".join(f"{k[:-7]} {gpu[k] / 1e3:.1f}" for k in gpu if k.endswith("_gflops"))
        parts.append(f"GPU {gpu.get('gpu_name')} TFLOP/s: {flops}; copy d2d {gpu.get('d2d_copy_gbps', 0):.0f} GB/s")
    return "peak: " + "; ".join(parts) if parts else None


def _machine_line(result: BenchResult) -> str:
    m = result.machine
    versions = ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items())
    gpu = f", GPU {m['gpu_name']}" if m.get("gpu_name") else ""
    flags = f"; flags {' '.join(m['cpu_flags'])}" if m.get("cpu_flags") else ""
    return (f"machine: {m.get('cpu_model')} ({m.get('cores_available')} cores available, {m.get('threads')} threads)"
            f"{flags}{gpu}; load {m.get('load_average_start')} -> {m.get('load_average_end')}; {versions}")


def format_table(result: BenchResult, with_header: bool = True) -> str:
    """The terminal report: machine, peak, the results table, concurrency, summary and warnings."""
    lines = []
    if with_header:
        lines.append(_machine_line(result))
        peak = _peak_line(result)
        if peak:
            lines.append(peak)
        lines.append("")
    lines.append(_text_table(*_grid(result.results, _columns(result))))
    if result.concurrency:
        lines += ["", _text_table(*_grid(result.concurrency, _CONCURRENCY_TABLE))]
    lines += [""] + result.summary
    if result.warnings:
        lines += [""] + [f"warning: {w}" for w in result.warnings]
    lines.append("latency: ms per call (one batch), end to end to uint8 images on the host; "
                 "img/s: images (not batches) per second; cv! = unstable"
                 + ("; gpu img/s: the generator alone, timed by CUDA events" if any(
                     r.get("compute_timer") == "cuda-event" for r in result.results) else ""))
    return "\n".join(lines)


def to_json(result: BenchResult) -> str:
    return json.dumps(json_safe(result.to_dict()), indent=2, allow_nan=False) + "\n"


def to_csv(result: BenchResult) -> str:
    has_quality = any("psnr_db" in r for r in result.results)
    fields = list(CORE_FIELDS) + (list(QUALITY_FIELDS) if has_quality else [])
    fields += [f for f in EXTRA_FIELDS if any(f in r for r in result.results)]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in result.results:
        writer.writerow({k: ("" if v is None else v) for k, v in json_safe(row).items()})
    return buffer.getvalue()


def _md_table(headers: list[str], body: list[list[str]], numeric: list[bool]) -> str:
    escape = [[c.replace("|", "\\|") for c in line] for line in body]
    rule = "|" + "|".join("---:" if num else "---" for num in numeric) + "|"
    return "\n".join(["| " + " | ".join(headers) + " |", rule,
                      *("| " + " | ".join(line) + " |" for line in escape)])


def to_markdown(result: BenchResult) -> str:
    parts = ["# ganedge bench", "", _machine_line(result)]
    peak = _peak_line(result)
    if peak:
        parts += ["", peak]
    parts += ["", "## Results", "", _md_table(*_grid(result.results, _columns(result))), "",
              "Latency: milliseconds per call (one batch), end to end to uint8 images on the host. "
              "Throughput: images per second. `!` after cv: unstable (see warnings)."]
    if result.concurrency:
        parts += ["", "## Concurrency", "", _md_table(*_grid(result.concurrency, _CONCURRENCY_TABLE))]
    if result.summary:
        parts += ["", "## Summary", ""] + [f"- {line}" for line in result.summary]
    if result.warnings:
        parts += ["", "## Warnings", ""] + [f"- {w}" for w in result.warnings]
    return "\n".join(parts) + "\n"


def write_reports(result: BenchResult, json_path: str | os.PathLike | None = None,
                  csv_path: str | os.PathLike | None = None, md_path: str | os.PathLike | None = None,
                  plot_path: str | os.PathLike | None = None) -> None:
    """Write each requested report atomically (``-`` for JSON means stdout and is handled by the CLI)."""
    if json_path is not None:
        write_text_atomic(json_path, to_json(result))
    if csv_path is not None:
        write_text_atomic(csv_path, to_csv(result))
    if md_path is not None:
        write_text_atomic(md_path, to_markdown(result))
    if plot_path is not None:
        from ganedge.bench.plot import save_plot

        save_plot(result, plot_path)
