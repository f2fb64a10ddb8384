"""The service's settings (server.py fills them from flags or GANEDGE_SERVE_* variables)."""

from __future__ import annotations

from dataclasses import dataclass

from ganedge.errors import BadInputError
from ganedge.sdk.limits import check_allocatable


@dataclass(frozen=True)
class ServeSettings:
    model: str
    host: str = "127.0.0.1"
    port: int = 8000
    max_n: int = 64  # images per request
    max_batch: int = 64  # images per backend call (Batcher)
    max_delay_ms: float = 2.0  # how long the oldest request waits for others to join its batch
    max_queue: int = 1024  # images waiting in the Batcher; beyond: 503 + Retry-After
    request_timeout_s: float = 30.0
    retry_after_s: int = 1
    backend: str = "auto"
    device: str = "auto"
    threads: int | None = None

    def check(self, manifest=None) -> None:
        """Refuse settings that can never work; with a model's ``manifest``, also a batch that could never fit."""
        if self.max_n < 1 or self.max_batch < 1 or self.max_queue < 1:
            raise BadInputError("--max-n, --max-batch and --max-queue must be >= 1")
        if self.max_n > self.max_queue:
            raise BadInputError(f"--max-n {self.max_n} can never fit --max-queue {self.max_queue}; raise --max-queue")
        if not 0 <= self.max_delay_ms < 60_000 or not self.request_timeout_s > 0:
            raise BadInputError("--max-delay-ms must be in [0, 60000) and --request-timeout-s > 0")
        if manifest is not None:  # the most images one backend call may hold: a full batch or one whole request
            most = max(self.max_n, min(self.max_batch, self.max_queue))
            check_allocatable(most, manifest.image_shape, "--max-n/--max-batch")
