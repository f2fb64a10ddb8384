"""The CPU this process may use, and whether other processes are keeping it busy right now.

Both the SDK (whether onnxruntime's idle threads spin) and training (whether OpenMP threads wait
actively) ask the same question before they start: are other processes already running on a good
share of our cores? One answer serves both, read from /proc without history: /proc/loadavg's
count of runnable tasks minus this process's own running threads. Unlike the load average it
carries no memory of the last minute, so the CPU this very process just spent (training before
export, say) does not count. Framework-free: training asks before torch loads.
"""

from __future__ import annotations

import os
import time

BUSY_SHARE = 0.5  # other runnable tasks per usable core at or above which the machine counts as busy


def usable_cores() -> int:
    """Cores this process may run on (respects taskset/cgroup cpusets, unlike os.cpu_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def _own_running_threads() -> int:
    """Threads of this process in state R (running or runnable), this one included."""
    count = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 1
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/stat", encoding="ascii", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue  # the thread ended meanwhile
        count += stat[stat.rindex(")") + 2:][:1] == "R"  # the state follows the (command name)
    return max(1, count)


def runnable_others() -> int | None:
    """Threads of *other* processes that are runnable right now, the least of three looks 1 ms
    apart (one look can catch a passing task); torch's OpenMP workers still spinning after a
    training step count as ours. None where there is no /proc."""
    counts = []
    for look in range(3):
        try:
            with open("/proc/loadavg", encoding="ascii") as handle:
                running = int(handle.read().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return None
        counts.append(max(0, running - _own_running_threads()))
        if look < 2:
            time.sleep(0.001)
    return min(counts)


def machine_busy(share: float = BUSY_SHARE) -> bool:
    """Whether other processes' runnable threads fill at least ``share`` of the usable cores.

    Without /proc the 1-minute load average stands in; without that, the machine counts as quiet.
    """
    busy = runnable_others()
    if busy is None:
        try:
            busy = os.getloadavg()[0]
        except (OSError, AttributeError):
            return False
    return busy >= share * usable_cores()
