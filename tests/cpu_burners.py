"""Real load for tests about busy machines: processes that keep one core busy each."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

_LOOP = "print('looping', flush=True)\nwhile True: pass"


@contextlib.contextmanager
def cpu_burners(count: int) -> Iterator[list[subprocess.Popen]]:
    """``count`` processes burning a core each, entered only once every loop is running: a cold
    interpreter on a loaded machine can take longer to start than any fixed sleep."""
    loops: list[subprocess.Popen] = []
    try:
        for _ in range(count):
            loops.append(subprocess.Popen([sys.executable, "-c", _LOOP], stdout=subprocess.PIPE, text=True))
        for loop in loops:
            assert loop.stdout.readline().strip() == "looping", "a busy loop did not start"
        yield loops
    finally:
        for loop in loops:
            loop.kill()
            loop.wait(10)
            loop.stdout.close()
