"""The interleaving scheduler, driven by a fake clock so every slice boundary is exact.

The workloads are plain callables (the scheduler's real input); each advances the clock by
its cost, so which call lands in which slice is fully determined.
"""

import pytest

from ganedge.bench import schedule
from ganedge.bench.schedule import SchedulePolicy, run_interleaved


class FakeClock:
    def __init__(self):
        self.ns = 0

    def perf_counter_ns(self) -> int:
        return self.ns

    def perf_counter(self) -> float:
        return self.ns * 1e-9

    def advance(self, ms: float) -> None:
        self.ns += int(ms * 1e6)

    def sleep(self, seconds: float) -> None:
        self.slept = getattr(self, "slept", 0) + 1
        self.ns += int(seconds * 1e9)


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(schedule, "time", fake)
    return fake


def workload(clock, log, name, cost_ms, first_ms=None, returns=None):
    calls = [0]

    def call():
        calls[0] += 1
        clock.advance(first_ms if first_ms is not None and calls[0] == 1 else cost_ms)
        log.append(name)
        return returns

    return call


def test_round_robin_slices_interleave(clock):
    log = []
    policy = SchedulePolicy(duration_s=0.006, min_calls=1, warmup_s=0, min_warmup_calls=1, slices=3, rewarm=False)
    names = "ABC"
    results = run_interleaved([workload(clock, log, n, 1.0) for n in names], policy)
    # warm-up: one call each; then three rounds of 2 ms slices (two 1 ms calls) in order A B C.
    assert "".join(log) == "ABC" + "AABBCC" * 3
    for samples in results:
        assert samples.slices == 3 and len(samples.e2e_s) == 6
        assert samples.timed_s == pytest.approx(0.006)


def test_each_slice_starts_after_an_untimed_settle_pause(clock):
    log = []
    policy = SchedulePolicy(duration_s=0.006, min_calls=1, warmup_s=0, min_warmup_calls=1, slices=3, rewarm=False,
                            settle_s=0.5)
    results = run_interleaved([workload(clock, log, n, 1.0) for n in "AB"], policy)
    assert clock.slept == 6  # before each of 3 slices of 2 workloads
    for samples in results:  # 0.5 s pauses, yet every call still times 1 ms
        assert len(samples.e2e_s) == 6 and max(samples.e2e_s) == pytest.approx(0.001)


def test_finished_workloads_leave_the_rotation(clock):
    log = []
    policy = SchedulePolicy(duration_s=0.006, min_calls=1, warmup_s=0, min_warmup_calls=1, slices=3, rewarm=False)
    # B's 3 ms calls overrun a 2 ms slice: one call per slice, done after two slices (6 ms).
    results = run_interleaved([workload(clock, log, "A", 1.0), workload(clock, log, "B", 3.0)], policy)
    assert "".join(log) == "AB" + "AAB" + "AAB" + "AA"
    assert len(results[1].e2e_s) == 2 and results[1].timed_s == pytest.approx(0.006)


def test_warm_up_is_excluded_and_estimates_the_steady_call(clock):
    log = []
    policy = SchedulePolicy(duration_s=0.004, min_calls=1, warmup_s=0.001, min_warmup_calls=2, slices=1, rewarm=False)
    (samples,) = run_interleaved([workload(clock, log, "A", 1.0, first_ms=50.0)], policy)
    assert samples.warmup_calls == 2
    assert samples.estimate_s == pytest.approx(0.001)  # the 50 ms first call is not the estimate
    assert max(samples.e2e_s) == pytest.approx(0.001)  # nor is it among the timed calls


def test_min_calls_extends_a_short_duration(clock):
    policy = SchedulePolicy(duration_s=0.001, min_calls=7, warmup_s=0, min_warmup_calls=0, slices=1, rewarm=False)
    (samples,) = run_interleaved([workload(clock, [], "A", 5.0)], policy)
    assert len(samples.e2e_s) == 7


@pytest.mark.parametrize("cost_ms, expected_rewarms", [(0.1, 4), (1.5, 0)])
def test_rewarm_discards_one_cheap_call_per_slice(clock, cost_ms, expected_rewarms):
    policy = SchedulePolicy(duration_s=0.008, min_calls=1, warmup_s=0, min_warmup_calls=2, slices=4, rewarm=True)
    log = []
    (samples,) = run_interleaved([workload(clock, log, "A", cost_ms)], policy)
    assert samples.rewarm_calls == expected_rewarms
    assert len(log) == samples.warmup_calls + samples.rewarm_calls + len(samples.e2e_s)


def test_inner_timings_are_recorded(clock):
    policy = SchedulePolicy(duration_s=0.002, min_calls=1, warmup_s=0, min_warmup_calls=0, slices=1, rewarm=False)
    (samples,) = run_interleaved([workload(clock, [], "A", 1.0, returns=0.0004)], policy)
    assert samples.compute_s == [0.0004] * len(samples.e2e_s)


def test_policy_rejects_nonsense():
    with pytest.raises(ValueError):
        SchedulePolicy(min_calls=0)
    with pytest.raises(ValueError):
        SchedulePolicy(duration_s=-1)
