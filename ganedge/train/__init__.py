"""Training: the loop, one GAN step, losses, DiffAugment, keyed randomness, DDP and crash-safe run directories.

The networks live in ``ganedge.models``, the run directory's formats in ``ganedge.artifacts``.
``augment``, ``losses`` and ``step`` import torch at module level; ``loop``, ``batches``, ``rng``,
``distributed`` and ``threads`` import it inside the functions that need it (``threads`` must run
before torch loads), and ``rundir`` not at all.
"""
