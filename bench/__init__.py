"""ganedge.bench — speed a user can trust, with quality beside it.

    from ganedge.bench import BenchConfig, run_bench, format_table
    result = run_bench(BenchConfig(models=("model.onnx",), batch_sizes=(1, 8, 64), duration_s=2.0))
    print(format_table(result))

Names resolve lazily so that importing this package (or one of its plain modules, such as
``ganedge.bench.micro``) pays for nothing it does not use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BenchConfig": "ganedge.bench.core",
    "BenchResult": "ganedge.bench.core",
    "run_bench": "ganedge.bench.core",
    "format_table": "ganedge.bench.report",
    "write_reports": "ganedge.bench.report",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'ganedge.bench' has no attribute {name!r}")
