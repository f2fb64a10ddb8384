"""JSON-safe copies of report data: the one place non-finite floats become ``null``.

Strict JSON has no NaN or Infinity, yet reports hold them legitimately (PSNR of identical
images is inf, a statistic of no samples is NaN). Every report writer (``ganedge bench``'s
JSON and CSV, export's validation and ``verify`` reports) passes its data through
:func:`json_safe` and lets the text report say what the value meant ("identical", "n/a").
"""

from __future__ import annotations

import math
from typing import Any


def json_safe(value: Any) -> Any:
    """A copy of ``value`` with inf/NaN floats as None and tuples as lists, through dicts and lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
