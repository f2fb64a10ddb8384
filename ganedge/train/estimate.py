"""How long a run will take, measured before its first step.

:func:`measure` runs a few real steps of the run itself (the first untimed: it pays for
allocations, oneDNN/cuDNN kernel selection and the first data block), then puts back the
weights, optimizer moments and global RNG states exactly as they were. Every other random
draw of training is keyed by (seed, rank, step) (see ganedge.train.rng) and the data of a
step is a pure function of it, so the run then continues bit for bit as if the warm-up had
never happened (tested). The figure covers training steps only: sample grids and
checkpoints (every 1,000 steps by default) come on top, and the warm-up's own few seconds
do not count against ``--minutes``.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass
from typing import Any

UNTIMED_STEPS = 1
TIMED_STEPS = 3
MAX_TIMED_SECONDS = 5.0  # a slow step (a big model on a CPU) ends the timing early


@dataclass(frozen=True)
class Estimate:
    steps_per_s: float
    timed_steps: int
    start_step: int
    steps: int | None  # the run's step budget (total, across resumes)
    seconds_left: float | None  # what remains of the run's time budget

    def seconds_to_end(self) -> float:
        """Seconds until the first budget ends (the step budget at the measured rate, or the time budget)."""
        by_steps = None if self.steps is None else max(0, self.steps - self.start_step) / self.steps_per_s
        candidates = [s for s in (by_steps, self.seconds_left) if s is not None]
        return min(candidates) if candidates else float("inf")

    def steps_to_end(self) -> int:
        return self.start_step + int(self.seconds_to_end() * self.steps_per_s)

    def describe(self) -> str:
        timed = f"{self.timed_steps} warm-up step{'s' if self.timed_steps != 1 else ''}"
        how = f"{self.steps_per_s:.3g} steps/s, timed on {timed} after {UNTIMED_STEPS} untimed, then rolled back"
        seconds = self.seconds_to_end()
        if self.steps is not None and (self.seconds_left is None or seconds < self.seconds_left):
            return f"estimate: {how}; step {self.steps:,} in about {human_duration(seconds)}"
        end = self.steps_to_end()
        rest = "" if self.steps is None else (f" (step {self.steps:,} would take "
                                              f"{human_duration((self.steps - self.start_step) / self.steps_per_s)})")
        return f"estimate: {how}; the time budget ends in {human_duration(seconds)} near step {end:,}{rest}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seconds_to_end": round(self.seconds_to_end(), 1), "steps_to_end": self.steps_to_end()}


def human_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min" if seconds < 600 else f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _sync(device: Any) -> None:
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize(device)


def measure(models, stream, config, ctx, device, start_step: int, seconds_done: float) -> Estimate | None:
    """Time a few steps from ``start_step`` on ``models`` (a GanModels) and restore it; None when the
    run has too few steps left for a warm-up to be worth it."""
    from ganedge.train.rng import capture_global_rng, restore_global_rng, torch_generator

    t = config.train
    if t.steps is not None and t.steps - start_step <= UNTIMED_STEPS + TIMED_STEPS:
        return None
    weights = {name: copy.deepcopy(m.state_dict()) for name, m in models.modules.items()}
    moments = {name: copy.deepcopy(o.state_dict()) for name, o in models.optimizers.items()}
    rng = capture_global_rng()
    timed, elapsed = 0, 0.0
    try:
        for step in range(start_step, start_step + UNTIMED_STEPS + TIMED_STEPS):
            _sync(device)
            started = time.perf_counter()
            batches = [stream.get(step, i) for i in range(t.d_steps)]
            models.train_step(step, batches, torch_generator(t.seed, ctx.rank, step, device))
            _sync(device)
            if step >= start_step + UNTIMED_STEPS:
                timed, elapsed = timed + 1, elapsed + time.perf_counter() - started
            if ctx.any_true(elapsed >= MAX_TIMED_SECONDS):  # every rank stops after the same step
                break
    finally:
        for name, module in models.modules.items():
            module.load_state_dict(weights[name])
        for name, optimizer in models.optimizers.items():
            optimizer.load_state_dict(moments[name])
        restore_global_rng(rng)
    if not timed:  # the untimed step alone took the whole allowance
        return None
    seconds_left = None if t.minutes is None else max(0.0, t.minutes * 60 - seconds_done)
    return Estimate(steps_per_s=timed / max(elapsed, 1e-9), timed_steps=timed, start_step=start_step, steps=t.steps,
                    seconds_left=seconds_left)
