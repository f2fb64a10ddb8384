"""How big a request's output is, and refusing one that could never fit in memory.

A request for 2**40 images must fail at once, with a message that says how many bytes it would
need, rather than with numpy's ``MemoryError`` after a partial allocation (or, worse, after the
seeds alone have taken gigabytes). "Could never fit" means: more bytes than this machine's
physical memory, or than the memory limit of the cgroup the process runs in, whichever is lower.
A request under that bound may still be too large for the memory free right now; that is the
operating system's call, not ours.
"""

from __future__ import annotations

import functools
import os
from typing import Sequence

from ganedge.errors import BadInputError

_CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def output_nbytes(n: int, image_shape: Sequence[int]) -> int:
    """Bytes of ``n`` uint8 images of ``image_shape`` (C, H, W) (an exact Python int, never overflowing)."""
    c, h, w = (int(d) for d in image_shape)
    return int(n) * c * h * w


@functools.lru_cache(maxsize=1)
def memory_limit_bytes() -> int:
    """The most memory this process could ever get: physical RAM, or a lower cgroup limit."""
    limits = []
    try:
        limits.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # not a POSIX system that reports it
        pass
    for path in _CGROUP_LIMITS:
        try:
            with open(path, encoding="ascii") as handle:
                text = handle.read().strip()
        except OSError:
            continue
        if text.isdigit():  # "max" means no limit
            limits.append(int(text))
    return min(limits) if limits else 2**63


def check_allocatable(n: int, image_shape: Sequence[int], what: str = "this request") -> None:
    """Raise BadInputError, before anything is allocated, if ``n`` images could never fit in memory."""
    need = output_nbytes(n, image_shape)
    have = memory_limit_bytes()
    if need > have:
        c, h, w = image_shape
        raise BadInputError(
            f"{what} asks for {n} images of {c}x{h}x{w}, which would need {need} bytes ({_human(need)}) "
            f"at once, more than the {have} bytes ({_human(have)}) of memory this process can have; "
            "ask for fewer, or use Generator.stream() to get them batch by batch in bounded memory")


def _human(nbytes: int) -> str:
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            return f"{value:.3g} {unit}"
        value /= 1024
    return f"{value:.3g} PiB"
