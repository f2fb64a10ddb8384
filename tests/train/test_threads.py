"""Thread settings chosen before torch loads."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from ganedge.cpu import runnable_others, usable_cores
from tests.cpu_burners import cpu_burners


def _policy_in_subprocess(env_extra):
    code = "from ganedge.train.threads import choose_wait_policy; import sys; print(repr(choose_wait_policy())); " \
           "print('torch' in sys.modules)"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_explicit_wait_policy_is_respected_and_torch_not_loaded():
    assert _policy_in_subprocess({"OMP_WAIT_POLICY": "ACTIVE"}) == ["'ACTIVE'", "False"]


def test_busy_neighbour_is_seen():
    # One look is a snapshot: a thread of this pytest process (an onnxruntime pool left by an
    # earlier test) waking between its two reads hides one runnable thread now and then, so the
    # neighbour must be seen in most of twenty looks over a second (an idle machine shows a
    # passing runnable thread in about one look of a hundred).
    looks = []
    with cpu_burners(1):
        for _ in range(20):
            looks.append(runnable_others())
            time.sleep(0.05)
    assert sum(seen >= 1 for seen in looks) >= 12 and all(0 <= seen <= 100_000 for seen in looks), looks


def test_busy_machine_makes_threads_wait_passively():
    with cpu_burners(usable_cores()):
        assert _policy_in_subprocess({}) == ["'PASSIVE'", "False"]
