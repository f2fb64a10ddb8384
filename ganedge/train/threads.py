"""CPU threads for training: how many, and how OpenMP threads wait (chosen before torch loads).

torch's CPU kernels run on OpenMP threads that spin at every barrier while they wait for each
other. Alone on a machine that is the fastest choice; when other jobs share the cores, a
spinning thread burns the time slice its partner needs, and we measured a 2-thread training step
become 10x slower than with ``OMP_WAIT_POLICY=PASSIVE`` (threads sleep instead), while on an idle
machine passive waiting cost ~25%. So :func:`choose_wait_policy` looks at what the other
processes use right now and picks; an explicit ``OMP_WAIT_POLICY`` is always respected.
Framework-free: it must run before ``import torch``.
"""

from __future__ import annotations

import os
import time

BUSY_THRESHOLD = 0.25  # share of all cores used by other processes above which threads wait passively


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of the whole machine from /proc/stat; None where there is no /proc."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(v) for v in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest time is inside user)
    return total - idle, total


def others_cpu_share(window_s: float = 0.3) -> float:
    """Fraction of the machine's CPU time that *other* processes used over a short window (0 if unknown)."""
    before, own_before = _cpu_ticks(), os.times()
    if before is None:
        return 0.0
    time.sleep(window_s)
    after, own_after = _cpu_ticks(), os.times()
    if after is None or after[1] <= before[1]:
        return 0.0
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    own = (own_after.user + own_after.system - own_before.user - own_before.system) * hz
    busy = after[0] - before[0] - own
    return max(0.0, min(1.0, busy / (after[1] - before[1])))


def choose_wait_policy() -> str:
    """Set OMP_WAIT_POLICY for this process (unless the user set it) and return it ("" = OpenMP's default)."""
    if "OMP_WAIT_POLICY" in os.environ:
        return os.environ["OMP_WAIT_POLICY"]
    if others_cpu_share() > BUSY_THRESHOLD:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        return "PASSIVE"
    return ""


def configure_threads(local_world_size: int = 1, threads: int | None = None) -> int:
    """Give each local rank an equal share of the cores this process may run on (not of the machine)."""
    import torch

    if threads is None:
        threads = max(1, usable_cores() // max(1, local_world_size))
    torch.set_num_threads(threads)
    return threads
