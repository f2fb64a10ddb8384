"""Thread settings chosen before torch loads."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from ganedge.cpu import runnable_others, usable_cores


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
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        others = runnable_others()
    finally:
        busy.kill()
        busy.wait()
    assert 1 <= others <= 100_000


def test_busy_machine_makes_threads_wait_passively():
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(usable_cores())]
    try:
        time.sleep(0.5)
        assert _policy_in_subprocess({}) == ["'PASSIVE'", "False"]
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
