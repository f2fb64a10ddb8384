"""A generate job from arguments to index.json: plan, resume check, execution, index.

Order of events, each step safe to kill: lock OUT -> load the model once (manifest, labels)
-> write plan.json (or, with --resume, check the stored one matches) -> remove leftovers of
killed runs and verify complete shards -> render the missing shards (local processes or Ray)
-> write index.json. A job is complete exactly when index.json exists.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ganedge.errors import BadInputError
from ganedge.fsutil import ensure_writable_dir, write_text_atomic
from ganedge.generate.labels import plan_labels
from ganedge.generate.plan import INDEX_FILE, PLAN_FILE, Plan, model_sha256
from ganedge.generate.render import WorkerSpec
from ganedge.generate.store import OutputLock, check_fresh, clean_temporaries, scan, write_index
from ganedge.cpu import usable_cores  # the cores this process may use (cpusets, taskset)

DEFAULT_SHARD_SIZE = 10_000
DEFAULT_BATCH = 64


@dataclass(frozen=True)
class GenerateOptions:
    model: Path
    out: Path
    count: int | None
    seed: int = 0
    labels: str | None = None  # balanced | K | class name | FILE; None: balanced for conditional models
    truncation: float = 1.0
    shard_size: int = DEFAULT_SHARD_SIZE
    format: str = "webdataset"
    workers: int | None = None  # local: usable cores; Ray: cluster CPUs // threads_per_worker
    threads_per_worker: int | None = None  # local: cores // workers; Ray: 1
    ray: str | None = None  # None: local processes; "auto" or an address: Ray
    resume: bool = False
    batch_size: int = DEFAULT_BATCH
    backend: str = "auto"
    device: str = "auto"

    def check(self) -> None:
        for name, value, low in (("--count", self.count, 1), ("--shard-size", self.shard_size, 1),
                                 ("--batch-size", self.batch_size, 1), ("--workers", self.workers, 1),
                                 ("--threads-per-worker", self.threads_per_worker, 1), ("--seed", self.seed, 0)):
            if value is not None and value < low:
                raise BadInputError(f"{name} must be at least {low}, got {value}")
        from ganedge.extras import require_all
        from ganedge.sdk.loader import preflight

        # Before OUT is touched: a bad model, or every missing extra at once, in one line, not a half-started job.
        modules = (*preflight(self.model, self.backend), *(("ray",) if self.ray is not None else ()))
        require_all(modules, "generating images")

    def arguments(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self).items()}


@dataclass
class Tally:
    """What the executors report back, feeding the progress bar."""

    plan: Plan
    records: dict[int, dict[str, Any]]
    bar: Any
    images: int = 0
    rendered: int = 0
    started: float = field(default_factory=time.perf_counter)

    def on_images(self, delta: int) -> None:
        self.images += delta
        self.bar.update(self.images, shards=f"{len(self.records)}/{len(self.plan.shards)}")

    def on_shard(self, record: dict[str, Any]) -> None:
        self.records[record["shard"]] = record
        self.rendered += record["count"]
        self.bar.update(self.images, shards=f"{len(self.records)}/{len(self.plan.shards)}")


def _stored_plan(out: Path, plan: Plan) -> Plan:
    stored = Plan.read(out / PLAN_FILE)
    differences = stored.differences(plan)
    if differences:
        raise BadInputError(f"cannot resume {out}: {'; '.join(differences)}; rerun with the job's arguments "
                            "or choose another -o")
    return stored


def _load_plan(options: GenerateOptions) -> tuple[Plan, dict[str, Any]]:
    """Load the model once here: its manifest fixes labels and class folders; workers load it again."""
    from ganedge import sdk

    with sdk.load(options.model, backend=options.backend, device=options.device, threads=1) as g:
        manifest = g.manifest
        info = {"arch": manifest.arch, "image_shape": list(manifest.image_shape), "num_classes": manifest.num_classes,
                "backend": g.backend, "device": g.device, "precision": g.precision}
    labels, total = plan_labels(options.labels, manifest, options.count)
    plan = Plan(model=str(Path(options.model).resolve()), model_sha256=model_sha256(Path(options.model)),
                manifest=manifest.to_dict(), count=total, seed=options.seed, shard_size=options.shard_size,
                truncation=float(options.truncation), format=options.format, labels=labels,
                arguments=options.arguments())
    return plan, info


def _prepare(options: GenerateOptions, out: Path, say: Callable[[str], None]) -> tuple[Plan, dict[str, Any], bool]:
    """(plan, model info, resumed): refuse a used folder before paying for the model, then write
    plan.json for a new job or check a stored one matches."""
    resumed = (out / PLAN_FILE).exists()
    if resumed and not options.resume:
        raise BadInputError(f"{out} already holds a generate job ({PLAN_FILE}); pass --resume to continue it, "
                            "or choose another -o")
    if not resumed:
        check_fresh(out)
    plan, info = _load_plan(options)
    if resumed:
        plan = _stored_plan(out, plan)
    else:
        write_text_atomic(out / PLAN_FILE, plan.to_json())
    say(f"{Path(options.model).name}: {info['arch']} {'x'.join(map(str, info['image_shape']))}, "
        f"{info['num_classes'] or 'no'} classes, on {info['backend']} ({info['device']}, {info['precision']}); "
        f"{plan.count} images in {len(plan.shards)} {plan.format} shards")
    return plan, info, resumed


def _recover(plan: Plan, out: Path, resumed: bool, say: Callable[[str], None]):
    """Remove what killed runs left and find the complete shards: (records, damaged, leftovers removed)."""
    removed = clean_temporaries(out)
    if not resumed:
        return {}, [], removed
    records, damaged = scan(plan, out, threads=usable_cores())
    say(f"resuming: {len(records)} of {len(plan.shards)} shards complete"
        + (f", {len(damaged)} damaged ({damaged[0][0].name}: {damaged[0][1]}) will be redone" if damaged else "")
        + (f", {removed} leftovers of a killed run removed" if removed else ""))
    return records, damaged, removed


def _execute(options: GenerateOptions, plan: Plan, todo: list[int], tally: Tally,
             say: Callable[[str], None]) -> dict[str, Any]:
    """Render ``todo``; returns the executor's part of the report."""
    def spec(threads: int) -> WorkerSpec:  # this run's model path: a resumed job's model may have moved
        return WorkerSpec(model=str(options.model.resolve()), out=str(options.out.resolve()), plan=plan.to_dict(),
                          batch_size=options.batch_size, threads=threads, backend=options.backend,
                          device=options.device)

    if options.ray:
        from ganedge.generate.ray_runner import RayPool, ray_session

        threads = options.threads_per_worker or 1
        with ray_session(options.ray, usable_cores(), say) as ray:
            pool = RayPool(ray, spec(threads), options.workers, threads, tally.on_images, tally.on_shard, say)
            stats = pool.run(todo)
            return {"executor": "ray", "workers": pool.size, "threads_per_worker": threads, "workers_lost": pool.deaths,
                    "worker_stats": stats}
    from ganedge.generate.local import LocalPool

    workers = min(options.workers or usable_cores(), len(todo))
    threads = options.threads_per_worker or max(1, usable_cores() // workers)
    pool = LocalPool(spec(threads), workers, tally.on_images, tally.on_shard)
    stats = pool.run(todo)
    return {"executor": "local", "workers": workers, "threads_per_worker": threads, "workers_lost": pool.deaths,
            "worker_stats": stats}


def generate(options: GenerateOptions, progress: bool = True,
             say: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run (or resume) a job; returns a report. ``say`` gets one-line notes (default: stderr)."""
    from ganedge.progress import Progress

    say = say or (lambda line: print(line, file=sys.stderr, flush=True))
    options = dataclasses.replace(options, model=Path(options.model), out=Path(options.out))
    options.check()
    started = time.perf_counter()
    out = ensure_writable_dir(options.out)
    with OutputLock(out):
        plan, info, resumed = _prepare(options, out, say)
        records, damaged, removed = _recover(plan, out, resumed, say)
        before = len(records)
        todo = [s.index for s in plan.shards if s.index not in records]
        done_images = sum(r["count"] for r in records.values())
        execution = {"executor": "none", "workers": 0, "threads_per_worker": 0, "workers_lost": 0, "worker_stats": []}
        run_started = time.perf_counter()
        bar = Progress(total=plan.count, start=done_images, label="images", enabled=progress)
        tally = Tally(plan, records, bar, images=done_images)
        if todo:
            (out / INDEX_FILE).unlink(missing_ok=True)  # the job is incomplete again until the end
            try:  # notes while the bar runs go through it, so a terminal line is never torn
                execution = _execute(options, plan, todo, tally, bar.write if progress else say)
            finally:
                bar.close()
            clean_temporaries(out)  # what workers that died mid-shard left
        run_s = time.perf_counter() - run_started
        missing = [s.name for s in plan.shards if s.index not in records]
        assert not missing, f"shards {missing[:5]} were never completed"
        index = write_index(plan, records, out)
    return {"out": str(out), "format": plan.format, "count": plan.count, "seeds": index["seeds"],
            "shards": len(plan.shards), "shards_complete_before": before, "shards_rendered": len(todo),
            "shards_damaged": [{"shard": s.index, "problem": p} for s, p in damaged], "leftovers_removed": removed,
            "images_rendered": tally.rendered, "seconds": round(time.perf_counter() - started, 3),
            "render_seconds": round(run_s, 3), "images_per_s": round(tally.rendered / run_s, 1) if tally.rendered else 0.0,
            **execution, "classes": index["classes"], "bytes": index["totals"]["bytes"], "model": info}
