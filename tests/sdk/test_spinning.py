"""Whether onnxruntime's idle intra-op threads spin: the SDK's choice, the caller's override, and
that the choice changes speed only, never images."""

from __future__ import annotations

import os

import numpy as np
import pytest

from ganedge import sdk
from ganedge.sdk.backends.onnxrt import SPIN_KEY, SPIN_MAX_LOAD_PER_CORE, choose_spinning, usable_cores


@pytest.mark.parametrize("value, spinning", [("0", False), ("1", True)])
def test_session_config_decides(models, value, spinning):
    with sdk.load(models["dcgan"], threads=2, session_config={SPIN_KEY: value}) as g:
        assert g.backend_info["spinning"] is spinning


def test_one_thread_never_spins(models):
    assert choose_spinning(1) is False
    with sdk.load(models["dcgan"], threads=1) as g:
        assert g.backend_info["spinning"] is False


def test_default_follows_the_load_average(models):
    expected = os.getloadavg()[0] < SPIN_MAX_LOAD_PER_CORE * usable_cores()
    assert choose_spinning(2) is expected
    with sdk.load(models["dcgan"], threads=2) as g:
        # The load may cross the line between the two reads only if the machine changes meanwhile.
        assert isinstance(g.backend_info["spinning"], bool)


def test_spinning_changes_no_image(models):
    with sdk.load(models["dcgan"], threads=2, session_config={SPIN_KEY: "1"}) as spin, \
            sdk.load(models["dcgan"], threads=2, session_config={SPIN_KEY: "0"}) as sleep:
        np.testing.assert_array_equal(spin.sample(16, seed=3), sleep.sample(16, seed=3))
