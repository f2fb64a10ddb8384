"""Local execution: N worker processes, each loading the model once, fed shards by the driver.

The driver is the queue: it hands a worker its next shard when the last one is done, over a
pipe of its own. (A shared multiprocessing.Queue would not survive a worker killed while it
holds the queue's lock; a pipe per worker does.) Workers are spawned, not forked, so no
onnxruntime or torch state is copied mid-flight, and each asks the kernel to kill it if the
driver dies (PR_SET_PDEATHSIG): a SIGKILLed ``ganedge generate`` leaves no orphan writing
shards behind the next ``--resume``. A worker that dies has its shard handed to a
replacement; a shard that kills three workers stops the run.

``--workers 1`` renders in the driver itself: no process start, the baseline for ratios.
"""

from __future__ import annotations

import collections
import ctypes
import multiprocessing
import multiprocessing.connection
import os
import signal
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from ganedge.errors import GanEdgeError
from ganedge.generate.render import ShardRenderer, WorkerSpec, error_payload, rebuild_error

MAX_ATTEMPTS = 3  # a shard whose worker died this often is not tried again
PR_SET_PDEATHSIG = 1


class WorkerFailedError(GanEdgeError):
    """A worker process died or hit a bug; the shards it finished are kept for --resume."""

    exit_code = 1


def _die_with_parent(parent_pid: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: a dead driver shows as a broken pipe instead
        pass
    if os.getppid() != parent_pid:  # the driver died before prctl took effect
        os._exit(1)


def worker_main(conn, spec_dict: dict[str, Any], parent_pid: int) -> None:
    """A worker process: load the model, then render the shards the driver sends until None."""
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle; it stops us
    try:
        renderer = ShardRenderer(WorkerSpec(**spec_dict))
    except GanEdgeError as exc:
        conn.send(("error", error_payload(exc)))
        return
    conn.send(("ready", None))
    while True:
        index = conn.recv()
        if index is None:
            conn.send(("stats", renderer.stats()))
            renderer.close()
            return
        try:
            record = renderer.render(index, on_batch=lambda n: conn.send(("progress", n)))
        except GanEdgeError as exc:
            conn.send(("error", error_payload(exc)))
            return
        except Exception:  # a bug: the driver stops the run and shows this traceback
            conn.send(("crash", traceback.format_exc()))
            return
        conn.send(("done", record))


@dataclass
class _Worker:
    process: Any
    conn: Any
    shard: int | None = None
    progress: int = 0  # images of the current shard reported so far
    stats: dict[str, Any] | None = None


@dataclass
class LocalPool:
    """Drives ``workers`` processes over the shards in ``todo``."""

    spec: WorkerSpec
    workers: int
    on_images: Callable[[int], None]
    on_shard: Callable[[dict[str, Any]], None]
    todo: collections.deque = field(default_factory=collections.deque)
    attempts: collections.Counter = field(default_factory=collections.Counter)
    deaths: int = 0

    def run(self, shards: list[int]) -> list[dict[str, Any]]:
        self.todo.extend(shards)
        if self.workers == 1:
            return [self._run_here()]
        ctx = multiprocessing.get_context("spawn")
        live = [self._start(ctx) for _ in range(min(self.workers, len(shards)))]
        finished: list[dict[str, Any]] = []
        try:
            while live:
                ready = multiprocessing.connection.wait([w.conn for w in live] + [w.process.sentinel for w in live], 1.0)
                for worker in list(live):
                    if worker.conn in ready or worker.process.sentinel in ready:
                        if self._serve(worker):
                            live.remove(worker)
                            if worker.stats is not None:
                                finished.append(worker.stats)
                            elif self.todo:
                                live.append(self._start(ctx))
        finally:
            for worker in live:
                worker.process.terminate()
            for worker in live:
                worker.process.join(5)
        return finished

    def _run_here(self) -> dict[str, Any]:
        renderer = ShardRenderer(self.spec)
        try:
            while self.todo:
                self.on_shard(renderer.render(self.todo.popleft(), on_batch=self.on_images))
            return renderer.stats()
        finally:
            renderer.close()

    def _start(self, ctx) -> _Worker:
        parent, child = ctx.Pipe()
        process = ctx.Process(target=worker_main, args=(child, self.spec.to_dict(), os.getpid()), daemon=True,
                              name="ganedge-generate-worker")
        process.start()
        child.close()
        return _Worker(process, parent)

    def _serve(self, worker: _Worker) -> bool:
        """Handle whatever one worker sent; True once it is gone (stopped, or died)."""
        while worker.conn.poll():
            try:
                kind, payload = worker.conn.recv()
            except (EOFError, OSError):
                break
            if kind == "ready" or kind == "done":
                if kind == "done":
                    self.on_shard(payload)
                    worker.shard, worker.progress = None, 0
                self._assign(worker)
            elif kind == "progress":
                worker.progress += payload
                self.on_images(payload)
            elif kind == "stats":
                worker.stats = payload
            elif kind == "error":
                raise rebuild_error(*payload)
            elif kind == "crash":
                raise WorkerFailedError(f"a worker failed on shard {worker.shard:06d} with a bug in ganedge:\n{payload}")
        if worker.process.is_alive() and worker.stats is None:
            return False
        worker.process.join(5)
        if worker.stats is None:
            self._lost(worker)
        worker.conn.close()
        return True

    def _assign(self, worker: _Worker) -> None:
        worker.shard = self.todo.popleft() if self.todo else None
        worker.conn.send(worker.shard)

    def _lost(self, worker: _Worker) -> None:
        """A worker died without saying goodbye: its shard goes back to the queue."""
        self.deaths += 1
        code = worker.process.exitcode
        if worker.shard is None:  # died loading the model, or idle: nothing to hand back
            if self.todo and self.deaths >= MAX_ATTEMPTS * self.workers:
                raise WorkerFailedError(f"{self.deaths} workers died (last exit code {code}); out of memory? "
                                        "try fewer --workers; the shards done so far are kept: rerun with --resume")
            return
        self.on_images(-worker.progress)
        self.attempts[worker.shard] += 1
        if self.attempts[worker.shard] >= MAX_ATTEMPTS:
            raise WorkerFailedError(f"shard {worker.shard:06d} was tried {MAX_ATTEMPTS} times and each time its worker "
                                    f"died (last exit code {code}); out of memory? the shards done so far are kept: "
                                    "rerun with --resume")
        self.todo.appendleft(worker.shard)
