"""What every executor runs: load the model once, then render shards of a plan to OUT.

The same :class:`ShardRenderer` runs in the driver (``--workers 1``), in local worker processes
and in Ray actors, so a shard's bytes never depend on where it was rendered. It loads the
model through ``ganedge.sdk`` (an ONNX file never imports torch) and renders a shard batch by
batch with ``Generator.sample_seeds``, handing each batch to the shard's writer at once, so
memory is one batch of images whatever the shard size.
"""

from __future__ import annotations

import os
import resource
import socket
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ganedge.errors import GanEdgeError
from ganedge.generate.plan import Plan
from ganedge.generate.writers import open_writer
from ganedge.procmem import peak_rss_mb, rss_mb


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs, as plain data (pickled to processes and Ray actors)."""

    model: str
    out: str
    plan: dict[str, Any]
    batch_size: int
    threads: int | None
    backend: str = "auto"
    device: str = "auto"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cpu_seconds() -> float:
    """CPU time (user + system) this process has used so far, start-up included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class ShardRenderer:
    """One loaded model rendering shards of one plan."""

    def __init__(self, spec: WorkerSpec):
        from ganedge import sdk

        started = time.perf_counter()
        self.spec = spec
        self.plan = Plan.from_dict(spec.plan, where="the plan sent to this worker")
        self.out = Path(spec.out)
        self.generator = sdk.load(spec.model, backend=spec.backend, device=spec.device, threads=spec.threads)
        self.load_s = time.perf_counter() - started
        self.rss_after_load_mb = rss_mb() or peak_rss_mb()
        self.images = 0
        self.render_s = 0.0

    def render(self, index: int, on_batch: Callable[[int], None] | None = None) -> dict[str, Any]:
        """Render shard ``index`` and commit it; returns its marker record."""
        plan, shard, step = self.plan, self.plan.shards[index], self.spec.batch_size
        started = time.perf_counter()
        writer = open_writer(plan, shard, self.out)
        try:
            for offset in range(0, shard.count, step):
                n = min(step, shard.count - offset)
                seeds = np.arange(shard.first_seed + offset, shard.first_seed + offset + n, dtype=np.uint64)
                labels = plan.labels.labels(shard.start + offset, shard.start + offset + n)
                images = self.generator.sample_seeds(seeds, batch_size=step, truncation=plan.truncation, labels=labels)
                writer.add(seeds, labels, images)
                if on_batch is not None:
                    on_batch(n)
            record = writer.commit({"backend": self.generator.backend, "device": self.generator.device,
                                    "precision": self.generator.precision})
        except BaseException:
            writer.abort()
            raise
        self.images += shard.count
        self.render_s += time.perf_counter() - started
        return record

    def stats(self) -> dict[str, Any]:
        """Per-worker figures for the run's report (memory is what the issue asks per worker)."""
        return {"host": socket.gethostname(), "pid": os.getpid(), "backend": self.generator.backend,
                "device": self.generator.device, "threads": self.spec.threads, "load_s": round(self.load_s, 3),
                "images": self.images, "render_s": round(self.render_s, 3),
                "rss_after_load_mb": round(self.rss_after_load_mb, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
                "cpu_s": round(cpu_seconds(), 3),
                "torch_imported": "torch" in sys.modules}

    def close(self) -> None:
        self.generator.close()


def error_payload(exc: BaseException) -> tuple[str, str, int]:
    """(class name, message, exit code) of a GanEdgeError, to rebuild it in the driver."""
    return type(exc).__name__, str(exc), getattr(exc, "exit_code", 1)


def rebuild_error(name: str, message: str, exit_code: int) -> GanEdgeError:
    from ganedge import errors

    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, GanEdgeError)):
        cls = GanEdgeError
    exc = cls(message)
    exc.exit_code = exit_code
    return exc
