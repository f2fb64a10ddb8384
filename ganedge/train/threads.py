"""CPU threads for training: how many, and how OpenMP threads wait (chosen before torch loads).

torch's CPU kernels run on OpenMP threads that spin at every barrier while they wait for each
other. Alone on a machine that is the fastest choice; when other jobs share the cores, a
spinning thread burns the time slice its partner needs, and we measured a 2-thread training step
become 10x slower than with ``OMP_WAIT_POLICY=PASSIVE`` (threads sleep instead), while on an idle
machine passive waiting cost ~25%. So :func:`choose_wait_policy` asks :func:`ganedge.cpu.machine_busy`
(the same check the SDK makes before onnxruntime's threads spin) and picks; an explicit
``OMP_WAIT_POLICY`` is always respected. Framework-free: it must run before ``import torch``.
"""

from __future__ import annotations

import os

from ganedge.cpu import machine_busy, usable_cores


def choose_wait_policy() -> str:
    """Set OMP_WAIT_POLICY for this process (unless the user set it) and return it ("" = OpenMP's default)."""
    if "OMP_WAIT_POLICY" in os.environ:
        return os.environ["OMP_WAIT_POLICY"]
    if machine_busy():
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
