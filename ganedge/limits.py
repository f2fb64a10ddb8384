"""Refuse a request whose result cannot fit in memory before allocating it.

``g.sample(2**40)`` of 32x32 RGB images would need 3 PiB; numpy's answer is a raw ``MemoryError`` (or, under
Linux's overcommit, an allocation that succeeds and a process the OOM killer ends while it
fills the pages). Callers that build a result whose size the user chose (the Generator,
``latents``, the Batcher, servers) ask :func:`check_allocatable` first and get a
``BadInputError`` that gives the size in bytes and says what to do instead.

The limit: the memory this process can still get, read only when a request is big enough
to matter (up to :data:`ALWAYS_FITS` nothing is read, so small calls pay nothing):

* ``MemAvailable`` of ``/proc/meminfo`` (the kernel's estimate of what can be allocated
  without swapping, page cache it can drop included), else ``os.sysconf`` free pages;
* the cgroup's headroom (``memory.max - memory.current``, v2, or v1's limit minus usage),
  when the process runs under a memory limit (containers, CI runners, systemd slices).

The smaller wins. Where neither can be read (not Linux) only the address space bounds it.
The check is about the *result* plus the working memory the caller names: a request that
passes can still fail later if other processes take the memory meanwhile, which no check
made in advance can prevent.
"""

from __future__ import annotations

import math
import os
from typing import Sequence

from ganedge.errors import BadInputError

ALWAYS_FITS = 64 << 20  # bytes: requests up to this size are never checked (no file reads on hot paths)
ADDRESS_SPACE = 1 << 47  # bytes a 64-bit Linux process can map at most (128 TiB): the bound where nothing else is known
STREAM_HINT = "render in bounded batches with Generator.stream(n, seed=..., batch_size=...) instead"


def output_nbytes(n: int, image_shape: Sequence[int], *, itemsize: int = 1) -> int:
    """Bytes of ``n`` items of ``image_shape`` (uint8 images by default; ``itemsize=4`` for float32).

    Exact Python integers: no overflow for any n."""
    return int(n) * math.prod(int(d) for d in image_shape) * int(itemsize)


def format_nbytes(nbytes: int) -> str:
    """``3377699720527872`` -> ``"3.0 PiB"``."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None  # "max" (no limit) and anything odd: unknown


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the file says kB and means KiB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _cgroup_headroom() -> int | None:
    """Bytes left under this process's cgroup memory limit, or None without a limit."""
    folders = ["/sys/fs/cgroup"]
    try:
        with open("/proc/self/cgroup", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("0::"):  # cgroup v2: the unified hierarchy's path
                    folders.insert(0, "/sys/fs/cgroup" + line[3:].strip().rstrip("/"))
    except OSError:
        pass
    for folder in folders:
        limit, used = _read_int(f"{folder}/memory.max"), _read_int(f"{folder}/memory.current")
        if limit is not None and used is not None:
            return max(0, limit - used)
    limit = _read_int("/sys/fs/cgroup/memory/memory.limit_in_bytes")  # cgroup v1
    used = _read_int("/sys/fs/cgroup/memory/memory.usage_in_bytes")
    if limit is not None and used is not None and limit < 1 << 60:  # v1 says "no limit" with a huge number
        return max(0, limit - used)
    return None


def available_nbytes() -> int | None:
    """Memory this process can still allocate (the smaller of the machine's and its cgroup's), or None."""
    known = [v for v in (_meminfo_available(), _cgroup_headroom()) if v is not None]
    return min(known) if known else None


def _limit() -> tuple[int, str]:
    available = available_nbytes()
    if available is None:
        return ADDRESS_SPACE, "address space of a 64-bit process"
    return available, "memory available now"


def check_nbytes(nbytes: int, what: str, detail: str = "", *, hint: str = STREAM_HINT) -> None:
    """BadInputError when ``nbytes`` cannot be allocated now. ``what`` names the request ("sample(n=...)"),
    ``detail`` what the bytes are ("1,024 images of 3x32x32 uint8")."""
    if nbytes <= ALWAYS_FITS:
        return
    limit, source = _limit()
    if nbytes > limit:
        of = f" for {detail}" if detail else ""
        raise BadInputError(f"{what} would need {nbytes:,} bytes ({format_nbytes(nbytes)}){of}, more than the "
                            f"{format_nbytes(limit)} of {source}; {hint}")


def check_allocatable(n: int, image_shape: Sequence[int], what: str, *, itemsize: int = 1,
                      extra_nbytes: int = 0, hint: str = STREAM_HINT) -> None:
    """BadInputError, before anything is allocated, when ``n`` items of ``image_shape`` (uint8, or
    ``itemsize`` bytes each) plus ``extra_nbytes`` of working memory do not fit in memory now."""
    nbytes = output_nbytes(n, image_shape, itemsize=itemsize)
    kind = {1: "uint8", 4: "float32", 8: "64-bit"}.get(int(itemsize), f"{itemsize}-byte")
    shape = "x".join(str(int(d)) for d in image_shape) or "scalar"
    noun = {1: "rows", 3: "images"}.get(len(image_shape), "items")
    detail = f"{int(n):,} {noun} of {shape} {kind}"
    if extra_nbytes:
        detail += f" ({nbytes:,} bytes) plus {int(extra_nbytes):,} bytes of working memory"
    check_nbytes(nbytes + int(extra_nbytes), what, detail, hint=hint)

