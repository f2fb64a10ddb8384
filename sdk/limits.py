"""``ganedge.sdk.limits``: the SDK's name for :mod:`ganedge.limits` (refuse what cannot fit in memory).

The module lives in the core layer because ``latents`` (core) needs it too; servers and the
Batcher import it from here or from there, it is the same module."""

from ganedge.limits import (ALWAYS_FITS, STREAM_HINT, available_nbytes, check_allocatable, check_nbytes, format_nbytes,
                            output_nbytes)

__all__ = ["ALWAYS_FITS", "STREAM_HINT", "available_nbytes", "check_allocatable", "check_nbytes", "format_nbytes",
           "output_nbytes"]
