"""What /metrics reports: request counts by status, images served, work in flight, latency percentiles.

Updated on the event loop only, so no lock is needed. A request whose client hung up before its
answer is counted under status 499 (nginx's "client closed request") and never as served.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter, deque
from dataclasses import asdict
from typing import Iterator

import numpy as np

from ganedge import sdk

LATENCY_WINDOW = 4096  # recent answers kept for the latency percentiles
CLIENT_GONE = 499


class Metrics:
    def __init__(self):
        self.started = time.time()
        self.requests = 0
        self.statuses: Counter[int] = Counter()
        self.images_served = 0
        self.in_flight_requests = 0
        self.in_flight_images = 0
        self.latencies_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)

    def record(self, status: int, images: int, started: float) -> None:
        """One finished request: its status, the images it delivered, when it began (perf_counter)."""
        self.statuses[status] += 1
        if status == 200:
            self.images_served += images
            self.latencies_ms.append((time.perf_counter() - started) * 1000.0)

    @contextlib.contextmanager
    def in_flight(self, images: int) -> Iterator[None]:
        """Count a request as accepted and not yet answered while the block runs."""
        self.in_flight_requests += 1
        self.in_flight_images += images
        try:
            yield
        finally:
            self.in_flight_requests -= 1
            self.in_flight_images -= images

    def snapshot(self, batcher: sdk.Batcher | None) -> dict:
        lat = np.array(self.latencies_ms, dtype=np.float64)
        pct = {f"p{q}": round(float(np.percentile(lat, q)), 3) for q in (50, 90, 99)} if lat.size else {}
        stats = batcher.stats() if batcher is not None else sdk.BatcherStats()
        return {
            "uptime_s": round(time.time() - self.started, 3),
            "requests": self.requests,
            "responses_by_status": {str(k): v for k, v in sorted(self.statuses.items())},
            "images_served": self.images_served,
            "client_gone": self.statuses[CLIENT_GONE],
            # Images accepted by the Batcher and not yet returned: queued plus the batch being rendered.
            "queue_depth": self.in_flight_images,
            "in_flight_requests": self.in_flight_requests,
            "latency_ms": {"window": int(lat.size), **pct},
            "batcher": {**asdict(stats), "mean_batch": round(stats.mean_batch, 3)},
        }
