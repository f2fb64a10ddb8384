"""``--plot FILE.png``: throughput and p99 latency against batch size, one line per variant.

Left: images/s (log y) — where the curve flattens, a bigger batch buys nothing. Right: p99
ms per call (log y) — the price of that batch in latency. x is the batch size on a log2
axis. One line per model x backend/precision (and device when several): colour = backend/
precision, line style = model. Unstable points (cv above the threshold) are drawn hollow.

matplotlib is imported here only, through its object API with the Agg canvas: no pyplot
state, no GUI backend, no effect on an application's own matplotlib settings.
"""

from __future__ import annotations

import os
from typing import Any

from ganedge.extras import require
from ganedge.fsutil import atomic_path

from ganedge.bench.core import BenchResult


def _series(rows: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(checkpoint, "backend/precision[ (device)]") -> that line's rows by batch size."""
    several_devices = len({r["device"] for r in rows}) > 1
    lines: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        kind = f"{row['backend']}/{row['precision']}" + (f" ({row['device']})" if several_devices else "")
        lines.setdefault((row.get("checkpoint") or row["model"], kind), []).append(row)
    return {key: sorted(points, key=lambda r: r["batch_size"]) for key, points in lines.items()}


def save_plot(result: BenchResult, path: str | os.PathLike, dpi: int = 120) -> None:
    require("matplotlib", "--plot")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, LogFormatter, NullFormatter, ScalarFormatter

    series = _series(result.results)
    # Colour says backend/precision, line style says model: each comparison reads at a glance.
    colours = {kind: f"C{i % 10}" for i, kind in enumerate(dict.fromkeys(kind for _, kind in series))}
    styles = {model: style for model, style in zip(dict.fromkeys(m for m, _ in series), ("-", "--", ":", "-."))}
    figure = Figure(figsize=(12, 5.5), layout="constrained")
    FigureCanvasAgg(figure)
    throughput, latency = figure.subplots(1, 2)
    for (model, kind), points in series.items():
        colour, style = colours[kind], styles.get(model, "-")
        batches = [r["batch_size"] for r in points]
        for axis, key in ((throughput, "images_per_s"), (latency, "p99_ms")):
            axis.plot(batches, [r[key] for r in points], style, color=colour,
                      label=f"{model} {kind}" if axis is throughput else None)  # model: the checkpoint
            for unstable, face in ((False, colour), (True, "none")):
                marked = [(b, r[key]) for b, r in zip(batches, points) if bool(r.get("unstable")) == unstable]
                if marked:
                    axis.plot(*zip(*marked), "o", color=colour, markerfacecolor=face)
    sizes = sorted({r["batch_size"] for r in result.results})
    for axis, title, unit in ((throughput, "Throughput (higher is better)", "images/s"),
                              (latency, "p99 latency per call (lower is better)", "ms per batch")):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.xaxis.set_major_locator(FixedLocator(sizes))
        axis.xaxis.set_major_formatter(ScalarFormatter())
        axis.xaxis.set_minor_formatter(NullFormatter())
        axis.yaxis.set_major_formatter(LogFormatter())  # "60", not "6 x 10^1"
        axis.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1.2, 0.5)))
        axis.set_xlabel("batch size")
        axis.set_ylabel(unit)
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
    figure.legend(loc="outside lower center", ncols=min(4, len(series)), fontsize="small")
    machine = result.machine
    figure.suptitle(f"ganedge bench — {machine.get('gpu_name') or machine.get('cpu_model')}, "
                    f"{machine.get('threads')} CPU threads (hollow markers: cv above the stability threshold)",
                    fontsize="medium")
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi)
