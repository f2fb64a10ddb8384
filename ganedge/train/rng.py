"""Randomness of a run, keyed so that a resumed or distributed run draws exactly the same numbers.

Every random draw of training comes from a generator seeded by ``(seed, stream, rank, index)``
(data blocks: index = block; latents, labels and augmentations: index = step). Resuming at step
N therefore needs no generator state at all, and DDP ranks draw different data without any
coordination. The global RNGs (torch, numpy, python) are still saved in ``state.json`` and
restored, for code outside the loop that uses them (a custom dataset, a user callback).
"""

from __future__ import annotations

import base64
import random
from typing import Any

import numpy as np

STREAM_DATA = 1
STREAM_STEP = 2


def derived_seed(seed: int, stream: int, rank: int, index: int) -> int:
    """A 63-bit seed that depends on all four numbers (SeedSequence hashing, so nearby inputs decorrelate)."""
    state = np.random.SeedSequence([int(seed), stream, rank, int(index)]).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def numpy_rng(seed: int, stream: int, rank: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), stream, rank, int(index)]))


def torch_generator(seed: int, rank: int, step: int, device: Any = "cpu"):
    import torch

    generator = torch.Generator(device=device)
    generator.manual_seed(derived_seed(seed, STREAM_STEP, rank, step))
    return generator


def capture_global_rng() -> dict[str, Any]:
    """The global RNG states as JSON-ready values."""
    import torch

    np_state = np.random.get_state()
    states: dict[str, Any] = {
        "torch": base64.b64encode(torch.get_rng_state().numpy().tobytes()).decode("ascii"),
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = [base64.b64encode(s.numpy().tobytes()).decode("ascii") for s in torch.cuda.get_rng_state_all()]
    return states


def restore_global_rng(states: dict[str, Any]) -> None:
    import torch

    if "torch" in states:
        raw = np.frombuffer(base64.b64decode(states["torch"]), dtype=np.uint8).copy()
        torch.set_rng_state(torch.from_numpy(raw))
    if "numpy" in states:
        name, keys, pos, has_gauss, cached = states["numpy"]
        np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    if "python" in states:
        version, internal, gauss = states["python"]
        random.setstate((version, tuple(internal), gauss))
    if "cuda" in states and torch.cuda.is_available():
        cuda_states = [torch.from_numpy(np.frombuffer(base64.b64decode(s), dtype=np.uint8).copy()) for s in states["cuda"]]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
