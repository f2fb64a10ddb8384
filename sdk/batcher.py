"""In-process dynamic batching for servers, with Triton's dynamic-batcher semantics.

Requests (``submit(seed, n)``) wait in a bounded FIFO queue. A worker thread takes the oldest
request and keeps collecting more until the batch holds ``max_batch`` images or the oldest
request has waited ``max_delay_ms`` (Triton's ``max_queue_delay_microseconds``), then renders
the whole batch in one runner call and hands each request its slice. Requests are never split
across batches; one larger than ``max_batch`` runs alone, in chunks of ``max_batch``.

- Bounded queue: ``max_queue`` images may wait; ``submit`` beyond that raises QueueFullError at
  once (back off and retry), like Triton's ``max_queue_size``.
- Results are exactly ``g.sample(n, seed=seed, ...)``: images depend only on their seeds.
  ``submit_latents(z)`` queues your own latents (a walk's frames) into the same batches.
  ``submit``/``sample`` give a batch, uint8 (n, H, W, C), as ``g.sample`` does; ``image(seed)``
  gives one image, uint8 (H, W, C).
- Errors: arguments are checked in ``submit``, so a bad request never joins a batch; one whose
  output could never fit in memory is refused there too, before anything is allocated
  (:mod:`ganedge.sdk.limits`). If a batch still fails (e.g. NaN from one seed), each of its
  requests is retried alone, so the error reaches only the futures it belongs to.
- Giving up: ``future.cancel()`` on a request that has not started takes it out of the queue at
  once (its images are never rendered and its place is free for others). A server whose client
  hung up or whose deadline passed should do exactly that.
- Shutdown: ``close(wait=True)`` (and leaving a ``with`` block) refuses new work, finishes
  everything queued, and joins the worker. The Generator stays open; it is the caller's.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ganedge.errors import BadInputError, ClosedError, QueueFullError
from ganedge.latents import seed_range
from ganedge.sdk.generator import Generator, _check_count, check_labels, check_truncation
from ganedge.sdk.labels import merge_for_runner
from ganedge.sdk.limits import check_allocatable


@dataclass(eq=False)  # compared by identity: the queue finds a cancelled request with ``remove``
class _Request:
    seeds: np.ndarray | None  # (n,) uint64; None for a request of latents
    psi: float
    labels: np.ndarray | None  # (n,) int64, (n, K) float32 class weights, or None
    future: Future
    z: np.ndarray | None = None  # float32 (n, latent_dim) for a request of latents
    arrival: float = field(default_factory=time.monotonic)

    @property
    def n(self) -> int:
        return int(self.seeds.size if self.seeds is not None else self.z.shape[0])

    def latents(self, g: Generator) -> np.ndarray:
        return self.z if self.seeds is None else g._seed_latents(self.seeds, self.psi)


@dataclass
class BatcherStats:
    requests: int = 0  # accepted by submit
    images: int = 0
    batches: int = 0  # runner calls made for batches
    rejected: int = 0  # QueueFullError raised
    cancelled: int = 0  # futures cancelled while queued: never rendered
    failed: int = 0  # futures finished with an exception
    max_batch_seen: int = 0

    @property
    def mean_batch(self) -> float:
        return self.images / self.batches if self.batches else 0.0


class Batcher:
    """Micro-batches ``sample`` calls from many threads into few runner calls."""

    def __init__(self, generator: Generator, max_batch: int = 64, max_delay_ms: float = 2.0, max_queue: int = 1024):
        for name, value, lo in (("max_batch", max_batch, 1), ("max_queue", max_queue, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < lo:
                raise BadInputError(f"{name} must be an integer >= {lo}, got {value!r}")
        if isinstance(max_delay_ms, bool) or not isinstance(max_delay_ms, (int, float)) or not 0 <= max_delay_ms < 1e6:
            raise BadInputError(f"max_delay_ms must be a number >= 0, got {max_delay_ms!r}")
        self.generator = generator
        self.max_batch = max_batch
        self.max_delay = max_delay_ms / 1000.0
        self.max_queue = max_queue
        self._queue: collections.deque[_Request] = collections.deque()
        self._queued_images = 0
        self._cond = threading.Condition()
        self._closing = False
        self._stats = BatcherStats()
        self._worker = threading.Thread(target=self._loop, name="ganedge-batcher", daemon=True)
        self._worker.start()

    # --- client side ---------------------------------------------------------------------------

    def submit(self, seed: int, n: int = 1, labels: Any = None, truncation: float = 1.0) -> Future:
        """Queue seeds ``seed .. seed+n-1``; the Future's result is uint8 (n, H, W, C)."""
        n = _check_count(n)
        check_allocatable(n, self.generator.manifest.image_shape, f"a Batcher request of n={n}")
        self._check_fits(n)
        seeds = seed_range(seed, n)
        request = _Request(seeds, check_truncation(truncation), check_labels(self.generator.manifest, labels, n),
                           Future())
        return self._enqueue(request)

    def submit_latents(self, z: np.ndarray, labels: Any = None) -> Future:
        """Queue your own float32 latents z (n, latent_dim); the Future's result is uint8 (n, H, W, C),
        exactly ``generate(z, labels)`` converted as ``sample`` converts. ``labels``: as for ``sample``, or
        float32 (n, num_classes) class weights where the model's graph takes them."""
        g = self.generator
        dim = g.manifest.latent_dim
        if not isinstance(z, np.ndarray) or z.dtype != np.float32 or z.ndim != 2 or z.shape[1] != dim:
            raise BadInputError(f"z must be a numpy float32 array of shape (n, {dim}), got "
                                f"{getattr(z, 'dtype', type(z).__name__)} {getattr(z, 'shape', '')}")
        check_allocatable(z.shape[0], g.manifest.image_shape, f"a Batcher request of {z.shape[0]} latents")
        self._check_fits(z.shape[0])
        request = _Request(None, 1.0, g._labels_or_weights(labels, z.shape[0]), Future(), z=np.array(z))
        return self._enqueue(request)

    def _check_fits(self, n: int) -> None:
        if n > self.max_queue:
            raise BadInputError(f"a request of {n} images can never fit a queue of {self.max_queue}; "
                                "split it or raise max_queue")

    def _enqueue(self, request: _Request) -> Future:
        if request.n == 0:
            c, h, w = self.generator.manifest.image_shape
            request.future.set_result(np.empty((0, h, w, c), dtype=np.uint8))
            return request.future
        with self._cond:
            if self._closing:
                raise ClosedError("this Batcher was closed; create a new one")
            if self._queued_images + request.n > self.max_queue:
                self._stats.rejected += 1
                raise QueueFullError(f"the batcher's queue is full ({self._queued_images} of {self.max_queue} images "
                                     "waiting); back off and retry, or raise max_queue")
            self._queue.append(request)
            self._queued_images += request.n
            self._stats.requests += 1
            self._stats.images += request.n
            self._cond.notify_all()
        request.future.add_done_callback(lambda future: self._forget_if_cancelled(request))
        return request.future

    def sample(self, seed: int, n: int = 1, labels: Any = None, truncation: float = 1.0,
               timeout: float | None = None) -> np.ndarray:
        """Blocking ``submit(...).result(timeout)``: uint8 (n, H, W, C), as ``g.sample(n, seed=seed)``."""
        return self.submit(seed, n, labels, truncation).result(timeout)

    def image(self, seed: int, labels: Any = None, truncation: float = 1.0, timeout: float | None = None) -> np.ndarray:
        """One image, uint8 (H, W, C), for ``seed``: blocking, batched with whatever else is queued."""
        return self.sample(seed, 1, labels, truncation, timeout)[0]

    async def asample(self, seed: int, n: int = 1, labels: Any = None, truncation: float = 1.0) -> np.ndarray:
        """``await``-able ``sample`` for asyncio servers; the event loop is never blocked."""
        return await asyncio.wrap_future(self.submit(seed, n, labels, truncation))

    def stats(self) -> BatcherStats:
        with self._cond:
            return BatcherStats(**vars(self._stats))

    def close(self, wait: bool = True, cancel_pending: bool = False) -> None:
        """Refuse new requests. Queued ones still run unless ``cancel_pending`` (their futures are
        cancelled). ``wait``: block until the worker has finished."""
        with self._cond:
            self._closing = True
            pending = []
            while cancel_pending and self._queue:
                pending.append(self._queue.popleft())
                self._queued_images -= pending[-1].n
            self._stats.cancelled += len(pending)
            self._cond.notify_all()
        for request in pending:  # out of the queue already: the worker can no longer start them
            request.future.cancel()
        if wait and threading.current_thread() is not self._worker:
            self._worker.join()

    def __enter__(self) -> "Batcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close(wait=True)

    def _forget_if_cancelled(self, request: _Request) -> None:
        """Done-callback: a request cancelled while queued leaves the queue now, freeing its place."""
        if not request.future.cancelled():
            return
        with self._cond:
            try:
                self._queue.remove(request)
            except ValueError:
                return  # the worker had already taken it (and skipped it)
            self._queued_images -= request.n
            self._stats.cancelled += 1
            self._cond.notify_all()

    # --- worker side ---------------------------------------------------------------------------

    def _next_batch(self) -> list[_Request] | None:
        """Block until a batch is due (full, or its oldest request timed out); None when closed and drained."""
        with self._cond:
            while not self._queue:
                if self._closing:
                    return None
                self._cond.wait()
            deadline = self._queue[0].arrival + self.max_delay
            while self._queued_images < self.max_batch and not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            batch, images = [], 0
            while self._queue and (not batch or images + self._queue[0].n <= self.max_batch):
                request = self._queue.popleft()
                self._queued_images -= request.n
                if request.future.set_running_or_notify_cancel():  # False: the caller cancelled it
                    batch.append(request)
                    images += request.n
                else:
                    self._stats.cancelled += 1
            return batch

    def _loop(self) -> None:
        while (batch := self._next_batch()) is not None:
            if batch:
                self._run(batch)

    def _run(self, batch: list[_Request]) -> None:
        g = self.generator
        if len(batch) == 1 and batch[0].n > self.max_batch:  # a lone large request: max_batch images per call
            self._count_batches(batch[0].n)
            self._finish_alone(batch[0], batch_size=self.max_batch)
            return
        labels = merge_for_runner([r.labels for r in batch], g.manifest.num_classes)
        try:
            with g._call():
                z = np.concatenate([r.latents(g) for r in batch])  # (total, latent_dim)
                seeds = None if any(r.seeds is None for r in batch) else np.concatenate([r.seeds for r in batch])
                images = g._render_latents(z, labels, seeds)  # (total, H, W, C)
        except Exception:
            if len(batch) == 1:
                self._finish_alone(batch[0])
            else:
                for request in batch:  # find whose seeds failed; the others still get their images
                    self._finish_alone(request)
            return
        self._count_batches(z.shape[0])
        start = 0
        for request in batch:
            request.future.set_result(images[start:start + request.n])
            start += request.n

    def _count_batches(self, images: int) -> None:
        with self._cond:
            self._stats.batches += -(-images // self.max_batch)
            self._stats.max_batch_seen = max(self._stats.max_batch_seen, min(images, self.max_batch))

    def _finish_alone(self, request: _Request, batch_size: int | None = None) -> None:
        g = self.generator
        try:
            if request.seeds is not None:
                images = g.sample_seeds(request.seeds, batch_size, request.psi, request.labels)
            else:
                with g._call():
                    images = g._render_latents(request.z, request.labels)
        except BaseException as exc:  # any failure belongs to this request's future, not to the worker
            with self._cond:
                self._stats.failed += 1
            request.future.set_exception(exc)
            return
        request.future.set_result(images)
