"""Fixtures for the bring-your-own-generator tests: module references and built modules.

The references are absolute ``/path/FILE.py:NAME`` strings, as a user would type them after
``ganedge export onnx``. ``byog_module(name)`` builds a generator once per session (the builders
calibrate BatchNorm statistics, which takes a second or two); tests that change a module must
``copy.deepcopy`` it first. The table behind all of this is :mod:`tests.byog.catalog`.
"""

from __future__ import annotations

import pytest

from tests.byog import catalog


@pytest.fixture(scope="session")
def byog_refs() -> dict[str, str]:
    """Module reference of every generator the exporter must deliver, by catalog name."""
    return {entry.name: entry.ref for entry in catalog.GENERATORS}


@pytest.fixture(scope="session")
def byog_module():
    """Factory: ``byog_module("stylegan2")`` -> the built torch module, built once per session."""
    pytest.importorskip("torch")
    cache: dict = {}
    entries = {e.name: e for e in (*catalog.GENERATORS, catalog.STYLEGAN2_INT_BATCH, catalog.NOISE_IN_FORWARD,
                                    catalog.DCGAN_TRAIN_MODE)}

    def get(name: str):
        if name not in cache:
            cache[name] = catalog.build(entries[name])
        return cache[name]

    return get


@pytest.fixture(scope="session")
def stylegan2_ref() -> str:
    return catalog.STYLEGAN2.ref


@pytest.fixture(scope="session")
def fastgan_ref() -> str:
    return catalog.FASTGAN.ref


@pytest.fixture(scope="session")
def biggan_ref() -> str:
    return catalog.BIGGAN.ref


@pytest.fixture(scope="session")
def dcgan_sigmoid_ref() -> str:
    return catalog.DCGAN_SIGMOID.ref


@pytest.fixture(scope="session")
def fp16_overflow_ref() -> str:
    return catalog.FP16_OVERFLOW.ref


@pytest.fixture(scope="session")
def fp16_weight_range_ref() -> str:
    return catalog.FP16_WEIGHT_RANGE.ref


@pytest.fixture(scope="session")
def noise_in_forward_ref() -> str:
    return catalog.NOISE_IN_FORWARD.ref


@pytest.fixture(scope="session")
def hostile_refs() -> dict[str, str]:
    """Every reference that must be refused with one line and exit 2, by what is wrong with it."""
    refs = {name: catalog.hostile_ref(name) for name in catalog.HOSTILE}
    refs["missing_file"] = catalog.MISSING_FILE_REF
    refs["missing_attribute"] = catalog.MISSING_ATTRIBUTE_REF
    return refs
