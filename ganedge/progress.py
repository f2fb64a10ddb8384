"""A small progress bar for long loops (training, sweeps): position, rate, ETA and live numbers.

No dependencies. On a terminal it redraws one line in place at most ``refresh_s`` apart; on a
pipe or file (CI logs) it prints a full line every ``log_every_s`` instead, so logs stay
readable. A run may have a step budget, a time budget, or both; the ETA is whichever ends first.

Why our own and not tqdm or click.progressbar: ``ganedge train --minutes M`` ends on a time
budget, and the bar must show steps while its fraction and ETA follow whichever budget (steps
or seconds, including the seconds a resumed run already spent) ends first; neither library's
bar has a second budget. And in CI logs both redraw with carriage returns (tqdm) or print the
label once (click), where this prints a full line every ``log_every_s``.
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from typing import IO, Any


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.3e}"
    return str(value)


class Progress:
    def __init__(self, total: int | None = None, *, start: int = 0, seconds_total: float | None = None,
                 seconds_done: float = 0.0, label: str = "step", stream: IO[str] | None = None,
                 enabled: bool = True, refresh_s: float = 0.2, log_every_s: float = 15.0,
                 smoothing: float = 0.3):
        self.total, self.position, self.label = total, start, label
        self.seconds_total, self.seconds_done = seconds_total, seconds_done
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.refresh_s = refresh_s if self.tty else log_every_s
        self.smoothing = smoothing
        self.fields: dict[str, Any] = {}
        self.rate: float | None = None  # smoothed steps per second
        self._t0 = self._last_t = time.perf_counter()
        self._last_pos = start
        self._last_draw = -math.inf
        self._drawn = False
        self._drawn_line = ""

    @property
    def elapsed(self) -> float:
        """Seconds since this bar started plus any ``seconds_done`` before (a resumed run)."""
        return self.seconds_done + time.perf_counter() - self._t0

    def eta(self) -> float:
        candidates = []
        if self.total is not None and self.rate:
            candidates.append(max(0, self.total - self.position) / self.rate)
        if self.seconds_total is not None:
            candidates.append(max(0.0, self.seconds_total - self.elapsed))
        return min(candidates) if candidates else math.nan

    def update(self, position: int, force: bool = False, **fields: Any) -> None:
        """Move to ``position`` (absolute) and remember ``fields`` (shown until replaced)."""
        now = time.perf_counter()
        if position > self._last_pos and now > self._last_t:
            instant = (position - self._last_pos) / (now - self._last_t)
            self.rate = instant if self.rate is None else self.smoothing * instant + (1 - self.smoothing) * self.rate
            self._last_pos, self._last_t = position, now
        self.position = position
        self.fields.update(fields)
        if self.enabled and (force or now - self._last_draw >= self.refresh_s):
            self._draw(now)

    def render(self, width: int = 100) -> str:
        pos = f"{self.label} {self.position}" + (f"/{self.total}" if self.total is not None else "")
        fraction = self._fraction()
        rate = f"{self.rate:.3g} it/s" if self.rate else "? it/s"
        tail = f"{rate} {format_duration(self.elapsed)}<{format_duration(self.eta())}"
        extra = " ".join(f"{k}={_format_value(v)}" for k, v in self.fields.items())
        bar = ""
        if fraction is not None:
            cells = max(0, min(30, width - len(pos) - len(tail) - len(extra) - 12))
            filled = int(round(fraction * cells))
            bar = f" |{'#' * filled}{'.' * (cells - filled)}| {fraction * 100:3.0f}%" if cells >= 5 else f" {fraction * 100:3.0f}%"
        line = f"{pos}{bar} {tail}" + (f" {extra}" if extra else "")
        return line[:width] if self.tty else line

    def _fraction(self) -> float | None:
        parts = []
        if self.total:
            parts.append(self.position / self.total)
        if self.seconds_total:
            parts.append(self.elapsed / self.seconds_total)
        return min(1.0, max(parts)) if parts else None

    def _draw(self, now: float) -> None:
        self._last_draw = now
        if self.tty:
            width = shutil.get_terminal_size((100, 20)).columns - 1
            self.stream.write("\r" + self.render(width).ljust(width))
        else:
            self._drawn_line = f"{self.position}:{self.fields}"
            self.stream.write(self.render() + "\n")
        self.stream.flush()
        self._drawn = True

    def write(self, message: str) -> None:
        """Print a line without tearing the bar (it is redrawn on the next update)."""
        if not self.enabled:
            return
        if self.tty and self._drawn:
            self.stream.write("\r" + " " * (shutil.get_terminal_size((100, 20)).columns - 1) + "\r")
        self.stream.write(message + "\n")
        self.stream.flush()
        self._last_draw = -math.inf

    def close(self) -> None:
        if self.enabled and (self.tty or self._drawn_line != f"{self.position}:{self.fields}"):
            self._draw(time.perf_counter())
            if self.tty:
                self.stream.write("\n")
                self.stream.flush()
        self.enabled = False

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
