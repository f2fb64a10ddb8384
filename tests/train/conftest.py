"""Fixtures for training tests (helpers that tests import live in tests/train/helpers.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def scenes16():
    from ganedge.data import load_dataset

    return load_dataset("scenes", image_size=16)


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """In-process tests use one thread: tiny ops gain nothing from two, and on a shared 2-core CI
    machine OpenMP's spinning barriers make them many times slower."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
