"""Interleaved timing: every configuration gets short timed slices in turn (A B C A B C ...).

A machine drifts while a sweep runs: other processes start and stop, clocks and caches
warm up, memory fragments. Timing configuration A for its whole budget and then B puts
all of that drift between them. Round-robin slices spread it across every configuration
alike, so their *ratios* stay trustworthy even when absolute numbers move.

Per workload:
1. warm-up (untimed): at least ``min_warmup_calls`` and ``warmup_s`` seconds, so lazy
   initialisation, allocator growth and the first call's shape specialisation are excluded;
   the median warm-up call gives an estimate of one call's cost.
2. rounds: each unfinished workload in order gets one slice of ``duration_s / slices``
   seconds (at least one call). A workload is finished when it has ``duration_s`` timed
   seconds *and* ``min_calls`` calls (trtexec's --duration and --iterations are both minima).
3. re-warm: switching workloads leaves the caches to the previous one, which would show up
   as a slow first call of every slice and inflate p99. When a call is cheap (under a quarter
   of a slice) one untimed call opens each slice; when it is expensive the cache effect is
   small beside the call and discarding it would waste the budget, so nothing is discarded.

A workload is a plain callable doing one batch. It may return the seconds of the compute
part it measured inside the call (a runner's own timer, CUDA events); the scheduler always
measures the whole call on the host with ``perf_counter_ns``.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

Workload = Callable[[], "float | None"]


@dataclass(frozen=True)
class SchedulePolicy:
    duration_s: float = 2.0  # timed seconds per workload (a minimum, like trtexec --duration)
    min_calls: int = 5  # timed calls per workload (a minimum, like trtexec --iterations)
    warmup_s: float = 0.3
    min_warmup_calls: int = 2
    slices: int = 10  # slices per workload the duration is cut into
    rewarm: bool = True
    # Idle seconds before each slice: the previous workload's runtime (onnxruntime's or OpenMP's
    # thread pool) keeps its threads spinning for a while after its last call, and in one process
    # those threads steal the cores the next workload's threads need. Measured on 2 cores (16x16
    # DCGAN, torch vs onnxruntime fp32/int8 interleaved, 1 s each, spinning onnxruntime): torch
    # batch 64 made 2,647 img/s (p99 85 ms) with no pause, 4,596 with 0.02 s, 5,429 (p99 15 ms)
    # with 0.1 s; onnxruntime fp32 batch 1 went 1,905 -> 2,547 img/s.
    settle_s: float = 0.1

    def __post_init__(self) -> None:
        if self.duration_s < 0 or self.warmup_s < 0 or self.settle_s < 0:
            raise ValueError("duration_s, warmup_s and settle_s must be >= 0")
        if self.min_calls < 1 or self.min_warmup_calls < 0 or self.slices < 1:
            raise ValueError("min_calls and slices must be >= 1, min_warmup_calls >= 0")

    @property
    def slice_s(self) -> float:
        return self.duration_s / self.slices


@dataclass
class Samples:
    """What the scheduler recorded for one workload."""

    e2e_s: list[float] = field(default_factory=list)  # host time of each timed call
    compute_s: list[float] = field(default_factory=list)  # what the workload measured inside, if anything
    warmup_calls: int = 0
    rewarm_calls: int = 0
    slices: int = 0
    estimate_s: float = 0.0  # median warm-up call

    @property
    def timed_s(self) -> float:
        return sum(self.e2e_s)

    def done(self, policy: SchedulePolicy) -> bool:
        return len(self.e2e_s) >= policy.min_calls and self.timed_s >= policy.duration_s


def _call(workload: Workload) -> tuple[float, float | None]:
    start = time.perf_counter_ns()
    inner = workload()
    return (time.perf_counter_ns() - start) * 1e-9, inner


def warm_up(workload: Workload, policy: SchedulePolicy, samples: Samples) -> None:
    times: list[float] = []
    begin = time.perf_counter()
    while len(times) < policy.min_warmup_calls or time.perf_counter() - begin < policy.warmup_s:
        times.append(_call(workload)[0])
    samples.warmup_calls = len(times)
    steady = times[1:] or times  # the very first call pays one-time costs
    samples.estimate_s = statistics.median(steady) if steady else 0.0


def run_slice(workload: Workload, policy: SchedulePolicy, samples: Samples) -> None:
    if policy.settle_s:
        time.sleep(policy.settle_s)
    if policy.rewarm and samples.estimate_s < policy.slice_s / 4:
        _call(workload)
        samples.rewarm_calls += 1
    spent = 0.0
    while True:
        seconds, inner = _call(workload)
        samples.e2e_s.append(seconds)
        if inner is not None:
            samples.compute_s.append(inner)
        spent += seconds
        if spent >= policy.slice_s or samples.done(policy):
            break
    samples.slices += 1


def run_interleaved(
    workloads: Sequence[Workload],
    policy: SchedulePolicy,
    on_warmup: Callable[[int], None] | None = None,
    on_slice: Callable[[int, Samples], None] | None = None,
) -> list[Samples]:
    """Warm every workload up, then time them in round-robin slices until each is finished."""
    results = [Samples() for _ in workloads]
    for index, workload in enumerate(workloads):
        if on_warmup:
            on_warmup(index)
        warm_up(workload, policy, results[index])
    active = list(range(len(workloads)))
    while active:
        for index in active:
            run_slice(workloads[index], policy, results[index])
            if on_slice:
                on_slice(index, results[index])
        active = [i for i in active if not results[i].done(policy)]
    return results
