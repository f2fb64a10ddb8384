"""Ray execution: the same shard plan as an actor pool on a Ray cluster the user already runs.

Each actor loads the model once (``ShardRenderer``, as a local worker does) and renders the
shards the driver hands it, one at a time, writing straight into OUT; only small marker
records travel back. Ray places the actors (``num_cpus`` = threads per worker); nothing of
ours schedules. An actor that dies (node lost, OOM-killed, SIGKILL) has its shard handed to a
fresh actor; its half-written temporary is removed at the end of the run.

Every node must see MODEL and OUT at the same paths (a shared filesystem). Each actor checks
that it sees this run's plan.json and the same model bytes, and says which node does not.

``--ray auto`` connects to the cluster Ray itself finds (``RAY_ADDRESS``, or one started with
``ray start`` on this machine); when there is none it starts a local Ray instance on this
machine's cores and says so. ``--ray ADDRESS`` connects to that address (``ray://host:10001``,
``host:6379``). A process that already called ``ray.init`` is used as it is.
"""

from __future__ import annotations

import contextlib
import collections
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from ganedge.errors import BackendUnavailableError, GanEdgeError
from ganedge.extras import require
from ganedge.generate.local import MAX_ATTEMPTS, WorkerFailedError
from ganedge.generate.render import ShardRenderer, WorkerSpec, error_payload, rebuild_error

LOCAL_OBJECT_STORE_BYTES = 256 * 2**20  # only marker records go through it: keep a local instance small
WAIT_HINT_S = 30.0
log = logging.getLogger("ganedge.generate")


def import_ray():
    """``import ray``, or one line naming the ``ray`` extra."""
    return require("ray", "--ray")


@contextlib.contextmanager
def ray_session(address: str, cores: int, say: Callable[[str], None]) -> Iterator[Any]:
    """Connect (or start a local instance, for ``auto`` with no cluster); shut down only what we started."""
    ray = import_ray()
    if ray.is_initialized():
        say("Ray: using the Ray instance this process already initialised")
        yield ray
        return
    quiet = {"configure_logging": False, "log_to_driver": False}
    if address == "auto":
        try:
            ray.init(address="auto", **quiet)
            say("Ray: connected to the running cluster")
        except ConnectionError:
            ray.init(num_cpus=cores, include_dashboard=False, object_store_memory=LOCAL_OBJECT_STORE_BYTES, **quiet)
            say(f"Ray: no cluster is running (RAY_ADDRESS unset, no `ray start` here): started a local instance "
                f"on {cores} CPUs")
    else:
        try:
            ray.init(address=address, **quiet)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise BackendUnavailableError(f"--ray {address}: cannot connect ({exc})") from None
        say(f"Ray: connected to {address}")
    try:
        yield ray
    finally:
        ray.shutdown()


class ShardActor:
    """Ray actor body: one model load, then shards. Errors come back as values, never as raises,
    so the driver can tell a bad input (stop) from a dead actor (retry elsewhere)."""

    def __init__(self, spec_dict: dict[str, Any]):
        self.renderer = None
        self.error = None
        host = socket.gethostname()
        try:
            spec = WorkerSpec(**spec_dict)
            problem = _visibility_problem(spec)
            if problem:
                raise BackendUnavailableError(f"Ray node {host} {problem}; every node must see MODEL and -o at the "
                                              "same paths (a shared filesystem)")
            self.renderer = ShardRenderer(spec)
        except GanEdgeError as exc:
            self.error = error_payload(exc)

    def ready(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "host": socket.gethostname(), "error": self.error}

    def render(self, index: int) -> tuple[str, Any]:
        if self.error:
            return "error", self.error
        try:
            return "done", self.renderer.render(index)
        except GanEdgeError as exc:
            return "error", error_payload(exc)

    def stats(self) -> dict[str, Any] | None:
        return self.renderer.stats() if self.renderer else None


def _visibility_problem(spec: WorkerSpec) -> str | None:
    from ganedge.generate.plan import PLAN_FILE, Plan, model_sha256
    from ganedge.generate.store import plan_digest_matches

    plan = Plan.from_dict(spec.plan, where="the plan sent to this actor")
    if not (Path(spec.out) / PLAN_FILE).is_file() or not plan_digest_matches(Path(spec.out), plan):
        return f"does not see this run's {Path(spec.out) / PLAN_FILE}"
    if not Path(spec.model).exists():
        return f"does not see the model {spec.model}"
    if model_sha256(Path(spec.model)) != plan.model_sha256:
        return f"sees other bytes at {spec.model} than the driver"
    return None


class RayPool:
    """Drives an actor pool over the shards; replaces actors that die."""

    def __init__(self, ray, spec: WorkerSpec, actors: int | None, threads: int,
                 on_images: Callable[[int], None], on_shard: Callable[[dict[str, Any]], None],
                 say: Callable[[str], None]):
        self.ray, self.spec, self.threads = ray, spec, threads
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.size = actors or max(1, cpus // threads)
        self.on_images, self.on_shard, self.say = on_images, on_shard, say
        self.actor_class = ray.remote(num_cpus=threads, max_restarts=0)(ShardActor)
        self.todo: collections.deque = collections.deque()
        self.attempts: collections.Counter = collections.Counter()
        self.deaths = 0
        self.actors: list[Any] = []
        self.placed: list[Any] = []  # actors whose model is loaded (a cluster may not place them all)
        self.pending: dict[Any, tuple[Any, int | None]] = {}  # ref -> (actor, shard index or None for ready())

    def _new_actor(self) -> None:
        actor = self.actor_class.remote(self.spec.to_dict())
        self.actors.append(actor)
        self.pending[actor.ready.remote()] = (actor, None)

    def _give(self, actor) -> None:
        if self.todo:
            index = self.todo.popleft()
            self.pending[actor.render.remote(index)] = (actor, index)

    def run(self, shards: list[int]) -> list[dict[str, Any]]:
        self.todo.extend(shards)
        self.say(f"Ray: {self.size} actors of {self.threads} CPU each")
        try:
            for _ in range(min(self.size, len(shards))):
                self._new_actor()
            last_event = time.monotonic()
            while self.pending and (self.todo or any(i is not None for _, i in self.pending.values())):
                done, _ = self.ray.wait(list(self.pending), num_returns=1, timeout=1.0)
                if not done:
                    if time.monotonic() - last_event > WAIT_HINT_S:
                        self.say(f"Ray: still waiting for actors or shards (each actor needs {self.threads} CPU); "
                                 "is the cluster busy or too small?")
                        last_event = time.monotonic()
                    continue
                last_event = time.monotonic()
                self._settle(done[0])
            return self._stats()
        finally:
            for actor in self.actors:
                self._kill(actor)

    def _kill(self, actor) -> None:
        try:
            self.ray.kill(actor)
        except self.ray.exceptions.RayError:  # already gone, or Ray itself is shutting down
            pass

    def _settle(self, ref) -> None:
        actor, index = self.pending.pop(ref)
        try:
            kind, payload = ("ready", self.ray.get(ref)) if index is None else self.ray.get(ref)
        except self.ray.exceptions.RayActorError as exc:
            self._lost(actor, index, exc)
            return
        if kind == "ready":
            if payload["error"]:
                raise rebuild_error(*payload["error"])
            self.placed.append(actor)
        elif kind == "error":
            raise rebuild_error(*payload)
        else:
            self.on_images(payload["count"])
            self.on_shard(payload)
        self._give(actor)

    def _lost(self, actor, index: int | None, exc: Exception) -> None:
        self.deaths += 1
        self._kill(actor)
        self.actors.remove(actor)
        if actor in self.placed:
            self.placed.remove(actor)
        for ref, (other, other_index) in list(self.pending.items()):
            if other is actor:  # anything else queued on it is lost too
                del self.pending[ref]
                if other_index is not None:
                    self.todo.appendleft(other_index)
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if index is not None:
            self.attempts[index] += 1
            if self.attempts[index] >= MAX_ATTEMPTS:
                raise WorkerFailedError(f"shard {index:06d} was tried {MAX_ATTEMPTS} times and each time its Ray actor "
                                        f"died ({first_line}); the shards done so far are kept: rerun with --resume")
            self.todo.appendleft(index)
        elif self.deaths >= MAX_ATTEMPTS * self.size:
            raise WorkerFailedError(f"{self.deaths} Ray actors died ({first_line}); the shards done so far are kept")
        self.say(f"Ray: an actor died ({first_line}); its shard goes to a new actor")
        self._new_actor()

    def _stats(self) -> list[dict[str, Any]]:
        refs = [actor.stats.remote() for actor in self.placed]
        stats = []
        for ref in refs:
            try:
                value = self.ray.get(ref, timeout=60)
            except (self.ray.exceptions.RayError, TimeoutError):
                continue
            if value:
                stats.append(value)
        return stats
