"""The training loop: budget, logging, sample grids, checkpoints, resume and DDP around GanModels.

``train(config, run_dir)`` is what ``ganedge train`` and the demo call. One step is
``d_steps`` D updates on real batches, one G update and one EMA update. Every random draw is
keyed by (seed, rank, step) (see ganedge.train.rng), so a run resumed from step N's
checkpoint continues bit for bit like the run that was never stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from ganedge.errors import CheckFailedError, ConfigError, DatasetError, GanEdgeError
from ganedge.artifacts.run_config import RunConfig
from ganedge.train.distributed import DistContext, from_environment, shutdown
from ganedge.train.rundir import RunDir
from ganedge.train.threads import configure_threads

SAMPLE_SEEDS = 64  # grid of 8 x 8 fixed seeds 0..63


@dataclass
class TrainResult:
    run_dir: str
    step: int
    start_step: int
    train_seconds: float
    steps_per_s: float
    stopped_by: str  # "steps", "minutes", "signal" or "callback"
    metrics: dict[str, float] = field(default_factory=dict)
    sample_grid: str | None = None
    world_size: int = 1
    threads: int = 1
    omp_wait_policy: str = ""  # OMP_WAIT_POLICY in effect ("" = OpenMP's default, spinning)
    g_digest: str = ""  # sha256 of G's parameters and buffers
    rank_digests: list[str] = field(default_factory=list)  # g_digest as each DDP rank computed it (all equal)
    estimate: dict[str, Any] | None = None  # the warm-up's estimate of the time to the budget (train(estimate=True))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_device(device: str, ctx_local_rank: int = 0) -> str:
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda asked for, but torch sees no CUDA GPU; use --device cpu")
    return device


def load_run_dataset(config: RunConfig):
    from ganedge.data import load_dataset

    c, h, _ = config.model.image_shape
    return load_dataset(config.dataset, image_size=h, channels=c, seed=config.train.seed, **config.dataset_options)


def check_dataset_fits(config: RunConfig, dataset: Any) -> None:
    if tuple(dataset.image_shape) != tuple(config.model.image_shape):
        raise DatasetError(f"dataset {dataset.name!r} gives images of shape {tuple(dataset.image_shape)}, "
                           f"the run expects {tuple(config.model.image_shape)}")
    if config.model.num_classes and config.model.num_classes != dataset.num_classes:
        raise DatasetError(f"the run is conditional on {config.model.num_classes} classes but dataset "
                           f"{dataset.name!r} has {dataset.num_classes}")


@contextmanager
def _stop_on_signals(flag: dict[str, bool]) -> Iterator[None]:
    """SIGINT/SIGTERM (Ctrl-C, a scheduler's preemption) end the loop after the current step with a checkpoint."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}

    def handler(signum, frame):
        flag["stop"] = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def module_digest(module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


class _Trainer:
    def __init__(self, config: RunConfig, run: RunDir | None, dataset: Any, ctx: DistContext, device: str,
                 threads: int, on_log: Callable[[dict[str, Any]], None] | None,
                 should_stop: Callable[[int], bool] | None = None):
        from ganedge.train.batches import BatchStream
        from ganedge.train.step import GanModels

        self.config, self.run, self.ctx, self.device, self.threads = config, run, ctx, device, threads
        self.t = config.train
        self.models = GanModels(config, device, ddp=ctx.enabled)
        self.stream = BatchStream(dataset, self.t.batch_size // ctx.world_size, self.t.d_steps, self.t.data_block_steps,
                                  self.t.seed, ctx.rank, device)
        self.progress: Any = None  # set by train() once the start step is known
        self.on_log, self.should_stop = on_log, should_stop
        self.step = 0
        self.train_seconds = 0.0
        self.last_metrics: dict[str, float] = {}
        self.last_sample: str | None = None
        self.last_sample_step = -1
        self.session_seconds = 0.0  # training time of this process (a resumed run's train_seconds include earlier ones)
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}

    # --- resume / checkpoint --------------------------------------------------------------

    def restore(self, folder: Path, state: dict[str, Any]) -> None:
        from ganedge.artifacts.run_dir import OPTIMIZER_FILE, WEIGHTS_FILE, load_optimizers, load_weights
        from ganedge.train.rng import restore_global_rng

        groups, _ = load_weights(folder / WEIGHTS_FILE)
        self.models.load_state(groups)
        load_optimizers(folder / OPTIMIZER_FILE, self.models.optimizers)
        restore_global_rng(state.get("rng", {}))
        self.step = int(state["step"])
        self.train_seconds = float(state.get("train_seconds", 0.0))
        self.last_metrics = dict(state.get("metrics", {}))
        # A checkpoint between two log lines carries the half-filled interval, so the next line is as uninterrupted.
        self._sums = {k: float(v) for k, v in state.get("interval_sums", {}).items()}
        self._counts = {k: int(v) for k, v in state.get("interval_counts", {}).items()}

    def checkpoint(self) -> None:
        from ganedge.artifacts.run_dir import save_optimizers, save_weights
        from ganedge.train.rng import capture_global_rng

        self.models.sync_buffers()
        if self.run is None:
            return
        step = self.step

        def write_tensors(weights_path: Path, optimizer_path: Path) -> None:
            save_weights(weights_path, self.models.modules, {"step": step}, atomic=False)
            save_optimizers(optimizer_path, self.models.optimizers, {"step": step}, atomic=False)

        state = {"train_seconds": self.train_seconds, "wall_time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                 "world_size": self.ctx.world_size, "rng": capture_global_rng(), "metrics": self.last_metrics,
                 "interval_sums": dict(self._sums), "interval_counts": dict(self._counts)}
        self.run.commit_checkpoint(step, write_tensors, state, keep=self.t.keep_checkpoints)

    def sample_grid(self) -> None:
        import numpy as np
        import torch

        from ganedge.images import save_grid, to_uint8_nhwc
        from ganedge.latents import latents

        if self.run is None:
            return
        m = self.config.model
        z = torch.from_numpy(latents(np.arange(SAMPLE_SEEDS, dtype=np.uint64), m.latent_dim)).to(self.device)
        labels = torch.arange(SAMPLE_SEEDS, device=self.device) % m.num_classes if m.num_classes else None
        with torch.no_grad():
            images = self.models.G_ema(z, labels).float().cpu().numpy()  # (64, C, H, W)
        path = self.run.sample_path(self.step)
        save_grid(path, to_uint8_nhwc(images, inplace=True), cols=8, upscale=max(1, 64 // m.image_shape[1]))
        self.last_sample, self.last_sample_step = str(path), self.step

    # --- logging --------------------------------------------------------------------------

    def _accumulate(self, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            self._sums[key] = self._sums.get(key, 0.0) + value
            self._counts[key] = self._counts.get(key, 0) + 1

    def log(self, steps_per_s: float) -> None:
        if not self._counts:
            return
        means = {k: self._sums[k] / self._counts[k] for k in self._sums}
        self._sums.clear()
        self._counts.clear()
        self.last_metrics = {k: round(v, 6) for k, v in means.items()}
        record = {"step": self.step, "train_seconds": round(self.train_seconds, 3),
                  "steps_per_s": round(steps_per_s, 3), **self.last_metrics}
        if self.run is not None:
            self.run.append_metrics(record)
        if self.on_log is not None:
            self.on_log(record)
        self.progress.update(self.step, force=True, **{k: v for k, v in means.items() if k in ("d_loss", "g_loss")})

    # --- the loop -------------------------------------------------------------------------

    def fit(self) -> str:
        from ganedge.train.rng import torch_generator

        t, ctx = self.t, self.ctx
        seconds_budget = None if t.minutes is None else t.minutes * 60
        stop = {"stop": False}
        started = time.perf_counter()
        base_seconds = self.train_seconds
        interval_start, interval_step = started, self.step
        reason = "steps"
        with _stop_on_signals(stop):
            while True:
                self.train_seconds = base_seconds + time.perf_counter() - started
                local = {"steps": t.steps is not None and self.step >= t.steps,
                         "minutes": seconds_budget is not None and self.train_seconds >= seconds_budget,
                         "signal": stop["stop"],
                         "callback": self.should_stop is not None and self.should_stop(self.step)}
                if ctx.any_true(any(local.values())):
                    reason = next((k for k, v in local.items() if v), "signal")
                    break
                generator = torch_generator(t.seed, ctx.rank, self.step, self.device)
                batches = [self.stream.get(self.step, i) for i in range(t.d_steps)]
                self._accumulate(self.models.train_step(self.step, batches, generator))
                self.step += 1
                if self.step % t.log_every == 0:
                    now = time.perf_counter()
                    self.train_seconds = base_seconds + now - started
                    self.log((self.step - interval_step) / max(now - interval_start, 1e-9))
                    interval_start, interval_step = now, self.step
                if ctx.is_main and self.step % t.sample_every == 0:
                    self.sample_grid()
                if self.step % t.checkpoint_every == 0:
                    self.train_seconds = base_seconds + time.perf_counter() - started
                    self.checkpoint()
                self.progress.update(self.step)
        now = time.perf_counter()
        self.train_seconds = base_seconds + now - started
        self.session_seconds = now - started
        if self._counts:
            self.log((self.step - interval_step) / max(now - interval_start, 1e-9))
        return reason


def train(config: RunConfig, run_dir: str | Path, *, resume: bool = False, dataset: Any = None,
          device: str = "auto", threads: int | None = None, quiet: bool = False,
          dist_ctx: DistContext | None = None, on_log: Callable[[dict[str, Any]], None] | None = None,
          should_stop: Callable[[int], bool] | None = None, progress_stream: Any = None,
          estimate: bool = False, announce: str | None = None) -> TrainResult:
    """Train (or, with ``resume``, continue) the run in ``run_dir``; rank 0 writes it.

    ``config`` is the whole run's config; on resume it must equal the stored one except for
    the budget and intervals (the CLI merges them; see ``ganedge.artifacts.run_config.conflicting_fields``).
    ``on_log(record)`` sees each metrics line; ``should_stop(step)`` can end the run early
    (any other budget, e.g. CPU seconds); the run then ends with a checkpoint as usual.
    ``estimate``: before the first step, time a few warm-up steps (rolled back, see
    ``ganedge.train.estimate``) and print the time to the budget on ``progress_stream`` (stderr),
    after ``announce`` (a line such as the recipe), which is printed once the run directory is ready.
    Without ``dist_ctx`` a torchrun launch (WORLD_SIZE > 1) makes the process group here and destroys it
    before returning; a caller that passes ``dist_ctx`` owns its group.
    """
    device = resolve_device(device)
    ctx = dist_ctx or from_environment("cuda" if device.startswith("cuda") else "cpu")
    try:
        return _train(config, run_dir, resume, dataset, device, threads, quiet, ctx, on_log, should_stop,
                      progress_stream, estimate, announce)
    finally:
        # Under torchrun the process group is ours: torn down here, every rank together, not left to
        # interpreter exit, where one rank's teardown can abort its peer (SIGABRT, "terminate called
        # without an active exception") and fail a run that trained correctly.
        if dist_ctx is None:
            shutdown(ctx)


def _train(config: RunConfig, run_dir: str | Path, resume: bool, dataset: Any, device: str, threads: int | None,
           quiet: bool, ctx: DistContext, on_log: Callable[[dict[str, Any]], None] | None,
           should_stop: Callable[[int], bool] | None, progress_stream: Any, estimate: bool,
           announce: str | None) -> TrainResult:
    from ganedge.progress import Progress

    if ctx.enabled and device == "cuda":
        device = f"cuda:{ctx.local_rank}"
    threads = configure_threads(ctx.local_world_size, threads)

    config, dataset, run, folder = _prepare(config, run_dir, resume, dataset, ctx)
    t = config.train
    trainer = _Trainer(config, run, dataset, ctx, device, threads, on_log, should_stop)
    if folder is not None:
        from ganedge.artifacts.run_dir import STATE_FILE, read_state

        trainer.restore(Path(folder), read_state(Path(folder) / STATE_FILE))
        if run is not None:
            run.truncate_metrics(trainer.step)
    else:
        trainer.checkpoint()  # step 0: a run killed from here on can always be resumed
        if ctx.is_main:
            trainer.sample_grid()
    start_step = trainer.step
    if announce and ctx.is_main:
        print(announce, file=progress_stream or sys.stderr, flush=True)
    estimated = _estimate(trainer, start_step, progress_stream) if estimate else None
    progress = Progress(total=t.steps, start=start_step, seconds_total=None if t.minutes is None else t.minutes * 60,
                        seconds_done=trainer.train_seconds, stream=progress_stream, enabled=ctx.is_main and not quiet)
    trainer.progress = progress
    progress.update(start_step)
    try:
        reason = trainer.fit()
        trainer.checkpoint()  # a no-op commit when the run ends on a step it already saved
        if ctx.is_main and trainer.last_sample_step != trainer.step:
            trainer.sample_grid()
    finally:
        progress.close()

    digests = ctx.gather(module_digest(trainer.models.G))
    if len(set(digests)) != 1:
        raise CheckFailedError(f"DDP ranks ended with different G weights ({len(set(digests))} distinct); "
                               "this is a bug in ganedge's distributed training, please report it")
    steps_done = trainer.step - start_step
    return TrainResult(run_dir=str(run_dir), step=trainer.step, start_step=start_step,
                       train_seconds=round(trainer.train_seconds, 3),
                       steps_per_s=round(steps_done / max(trainer.session_seconds, 1e-9), 3) if steps_done else 0.0,
                       stopped_by=reason, metrics=trainer.last_metrics, sample_grid=trainer.last_sample,
                       world_size=ctx.world_size, threads=threads,
                       omp_wait_policy=os.environ.get("OMP_WAIT_POLICY", ""), g_digest=digests[0], rank_digests=digests,
                       estimate=None if estimated is None else estimated.to_dict())


def _prepare(config: RunConfig, run_dir, resume: bool, dataset: Any, ctx: DistContext):
    """(config, dataset, RunDir or None, checkpoint folder to restore or None): the dataset loaded if none
    was given, and rank 0 prepares the folder; any error reaches every rank, so none waits forever."""
    run, checkpoint, error = None, None, None
    try:
        if dataset is None:
            dataset = load_run_dataset(config)
        check_dataset_fits(config, dataset)
        if config.train.batch_size % ctx.world_size:
            raise ConfigError(f"--batch-size {config.train.batch_size} must be a multiple of the {ctx.world_size} "
                              "processes")
        if not resume and config.model.num_classes and config.model.class_names is None and dataset.class_names:
            # A caller's config built without them: the run still records what each class is.
            config = dataclasses.replace(config, model=dataclasses.replace(config.model,
                                                                           class_names=dataset.class_names))
        if ctx.is_main:
            run = RunDir.open(run_dir) if resume else RunDir.create(run_dir, config)
            if resume:
                checkpoint = run.latest_checkpoint()
    except GanEdgeError as exc:
        error = exc
    ctx.raise_if_any_failed(error)
    folder = ctx.broadcast(None if checkpoint is None else str(checkpoint[0]))
    return config, dataset, run, folder


def _estimate(trainer: _Trainer, start_step: int, stream: Any):
    """The warm-up estimate (ganedge.train.estimate), printed by rank 0 before the first step."""
    from ganedge.train.estimate import measure

    estimated = measure(trainer.models, trainer.stream, trainer.config, trainer.ctx, trainer.device, start_step,
                        trainer.train_seconds)
    if trainer.ctx.is_main:
        left = "" if trainer.t.steps is None else f"only {trainer.t.steps - start_step} steps to go"
        line = estimated.describe() if estimated else f"estimate: none ({left}; the warm-up would cost as much)"
        print(line, file=stream or sys.stderr, flush=True)
    return estimated
