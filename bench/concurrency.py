"""``--concurrency N``: N client threads asking for one image each, direct vs through a Batcher.

This is perf_analyzer's ``--concurrency-range N`` in process: every client sends a request,
waits for its image, and sends the next (closed loop, N requests in flight). Two modes:

* ``direct``: each client calls ``generator.sample(1, seed)`` itself (a Generator is thread-safe),
* ``batcher``: each client calls ``Batcher.sample(seed)``, which gathers concurrent requests
  into one runner call (``max_batch`` images or ``max_delay_ms`` of waiting, whichever first).

The modes alternate in slices, as the main sweep does, so drift hits both alike. Reported per
mode: requests/s (completed requests / seconds the clients were running), the latency each
client saw (p50/p99...), and for the batcher the mean batch it formed.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any, Callable

from ganedge.bench.stats import LatencyStats
from ganedge.bench.variants import Variant, balanced_labels

MODES = ("direct", "batcher")


def run_closed_loop(request: Callable[[int], Any], clients: int, seconds: float, seeds: itertools.count
                 ) -> tuple[list[float], float]:
    """Closed-loop clients for ``seconds``; returns per-request latencies and the slice's wall time."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(mine: list[float]) -> None:
        start.wait()
        try:
            while time.perf_counter() < deadline[0]:
                begin = time.perf_counter()
                request(next(seeds))
                mine.append(time.perf_counter() - begin)
        except BaseException as exc:  # surfaced in the caller's thread below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(latencies[i],), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    begin = time.perf_counter()
    deadline[0] = begin + seconds
    start.wait()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - begin
    if errors:
        raise errors[0]
    return [t for mine in latencies for t in mine], wall


def measure_concurrency(variant: Variant, clients: int, duration_s: float, slices: int, max_batch: int,
                        max_delay_ms: float, seed: int = 0) -> list[dict[str, Any]]:
    """Two rows (direct, batcher) for one variant."""
    from ganedge.sdk import Batcher

    generator = variant.generator
    seeds = itertools.count(seed)
    samples = {mode: [] for mode in MODES}
    wall = dict.fromkeys(MODES, 0.0)
    batcher = Batcher(generator, max_batch=max_batch, max_delay_ms=max_delay_ms, max_queue=max(1024, 4 * clients))
    try:
        manifest = generator.manifest
        requests = {
            "direct": lambda s: generator.sample(1, seed=s, batch_size=1, labels=balanced_labels(manifest, 1, s)),
            "batcher": lambda s: batcher.sample(s, 1, labels=balanced_labels(manifest, 1, s)),
        }
        for mode in MODES:  # warm-up: every thread's buffers, the batcher's first batches
            run_closed_loop(requests[mode], clients, min(0.2, duration_s / slices), seeds)
        before = batcher.stats()
        slice_s = duration_s / slices
        for _ in range(slices):
            for mode in MODES:
                latencies, seconds = run_closed_loop(requests[mode], clients, slice_s, seeds)
                samples[mode].extend(latencies)
                wall[mode] += seconds
        after = batcher.stats()
    finally:
        batcher.close()
    rows = []
    for mode in MODES:
        stats = LatencyStats.from_seconds(samples[mode])
        row = {
            "model": variant.artifact.name, "backend": variant.backend, "device": variant.device,
            "precision": variant.precision, "mode": mode, "clients": clients, "requests": stats.n,
            "requests_per_s": stats.n / wall[mode] if wall[mode] > 0 else None,
            "mean_ms": stats.mean_ms, "p50_ms": stats.p50_ms, "p90_ms": stats.p90_ms, "p99_ms": stats.p99_ms,
            "max_ms": stats.max_ms, "cv": stats.cv,
        }
        if mode == "batcher":
            batches = after.batches - before.batches
            row.update(max_batch=max_batch, max_delay_ms=max_delay_ms,
                       mean_batch=(after.images - before.images) / batches if batches else None)
        rows.append(row)
    return rows
