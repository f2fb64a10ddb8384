"""Whether onnxruntime's idle intra-op threads spin: the SDK's choice, the caller's override, and
that the choice changes speed only, never images."""

from __future__ import annotations

import os

import numpy as np
import pytest

from ganedge import sdk
from ganedge.cpu import runnable_others
from ganedge.sdk.backends.onnxrt.loader import SPIN_KEY, choose_spinning
from tests.cpu_burners import cpu_burners


@pytest.mark.parametrize("value, spinning", [("0", False), ("1", True)])
def test_session_config_decides(models, value, spinning):
    with sdk.load(models["dcgan"], threads=2, session_config={SPIN_KEY: value}) as g:
        assert g.backend_info["spinning"] is spinning


def test_one_thread_never_spins(models):
    assert choose_spinning(1) is False
    with sdk.load(models["dcgan"], threads=1) as g:
        assert g.backend_info["spinning"] is False


def test_runnable_others_reads_this_machine():
    others = runnable_others()
    assert others is None or 0 <= others < 100_000


def test_a_busy_machine_turns_spinning_off(models):
    # Real load, not a stand-in: one spinning process per usable core, then the SDK's own check.
    cores = len(os.sched_getaffinity(0))
    with cpu_burners(cores):
        assert max(runnable_others() for _ in range(5)) >= cores // 2  # five looks: one can miss a thread
        with sdk.load(models["dcgan"], threads=2) as g:
            assert g.backend_info["spinning"] is False


def test_spinning_changes_no_image(models):
    with sdk.load(models["dcgan"], threads=2, session_config={SPIN_KEY: "1"}) as spin, \
            sdk.load(models["dcgan"], threads=2, session_config={SPIN_KEY: "0"}) as sleep:
        np.testing.assert_array_equal(spin.sample(16, seed=3), sleep.sample(16, seed=3))
