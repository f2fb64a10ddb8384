"""This process's memory, as the benchmarks and bulk-generation workers report it."""

from __future__ import annotations

import os
import resource
import sys


def rss_mb() -> float | None:
    """Resident memory now, in MiB (Linux /proc); None where /proc/self/statm cannot be read."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            resident_pages = int(handle.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None


def peak_rss_mb() -> float:
    """This process's RSS high-water mark, in MiB.

    Linux: ``VmHWM`` from /proc/self/status, which belongs to the address space created by exec.
    Not ``ru_maxrss``: exec folds the *parent's* high-water mark into it (the forked copy of the
    parent's address space is what exec replaces), so a small child of a large process (a
    benchmark's cold-start probe, a spawned generate worker) would report its parent's memory.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10  # kB
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB elsewhere
