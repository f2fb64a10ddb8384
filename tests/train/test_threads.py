"""Thread settings chosen before torch loads."""

from __future__ import annotations

import os
import subprocess
import sys

from ganedge.train.threads import others_cpu_share, usable_cores


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
        share = others_cpu_share(window_s=0.5)
    finally:
        busy.kill()
        busy.wait()
    assert 0.5 / usable_cores() <= share <= 1.0
