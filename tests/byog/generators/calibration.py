"""BatchNorm statistics as training leaves them, shared by the test generators that have BatchNorm.

A sibling module on purpose: a user's generator file often imports its neighbours, and loading
``FILE.py:NAME`` puts FILE's folder on sys.path so those imports work (this one exercises that).
"""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def calibrate_batchnorm(module: nn.Module, make_inputs, batches: int = 2) -> None:
    """Running statistics as training leaves them: a few train-mode passes with a cumulative average.

    Train mode also runs spectral norm's power iteration, so its stored vectors converge as in training.
    """
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average over the passes below
    module.train()
    for _ in range(batches):
        module(*make_inputs())
    for bn in norms:
        bn.momentum = 0.1
    module.eval()
