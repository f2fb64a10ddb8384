"""The progress bar: what it shows, on terminals and in logs."""

from __future__ import annotations

import io
import subprocess
import sys

from ganedge.progress import Progress, format_duration


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_format_duration():
    assert format_duration(0) == "00:00"
    assert format_duration(75.4) == "01:15"
    assert format_duration(3 * 3600 + 61) == "3:01:01"
    assert format_duration(float("nan")) == "?"


def test_render_shows_position_rate_eta_and_fields():
    bar = Progress(total=100, stream=io.StringIO(), enabled=False)
    bar.rate = 10.0
    bar.update(40, d_loss=1.23456, g_loss=0.5)
    bar.rate = 10.0  # pin the smoothed rate for the check
    line = bar.render(width=200)
    assert line.startswith("step 40/100 |") and " 40%" in line
    assert "10 it/s" in line and "<00:06" in line  # 60 steps left at 10/s
    assert "d_loss=1.23" in line and "g_loss=0.5" in line


def test_time_budget_sets_eta_and_fraction():
    bar = Progress(seconds_total=100.0, seconds_done=25.0, stream=io.StringIO(), enabled=False)
    bar.update(7)
    line = bar.render(width=200)
    assert "step 7 " in line and " 25%" in line and "<01:15" in line


def test_tty_redraws_in_place_and_pipes_get_lines():
    tty = FakeTTY()
    bar = Progress(total=10, stream=tty, refresh_s=0.0)
    for i in range(1, 4):
        bar.update(i)
    bar.write("a message")
    bar.close()
    text = tty.getvalue()
    assert text.count("\r") >= 3 and "a message\n" in text and text.endswith("\n")

    pipe = io.StringIO()
    bar = Progress(total=10, stream=pipe, log_every_s=3600)
    for i in range(1, 4):
        bar.update(i)  # throttled: nothing printed between log intervals
    bar.close()
    lines = pipe.getvalue().splitlines()
    assert "\r" not in pipe.getvalue() and len(lines) == 2 and lines[-1].startswith("step 3/10")


def test_disabled_prints_nothing():
    stream = io.StringIO()
    bar = Progress(total=5, stream=stream, enabled=False)
    bar.update(3, force=True)
    bar.write("x")
    bar.close()
    assert stream.getvalue() == ""


def test_progress_imports_light():
    code = "import sys, ganedge.progress; print(any(m in sys.modules for m in ('torch', 'numpy')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
