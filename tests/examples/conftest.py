"""Session fixtures for the examples' tests: tiny real models, exported once, and a server process.

The models are example_helpers.build_run's: ``write_random_run`` with a gain on the last layer, so
images differ from seed to seed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.examples.example_helpers import ServerProcess, build_run, export


@pytest.fixture(scope="session")
def small_run(tmp_path_factory) -> Path:
    return build_run(tmp_path_factory.mktemp("examples") / "run-dcgan16")


@pytest.fixture(scope="session")
def small_onnx(small_run, tmp_path_factory) -> Path:
    return export(small_run, tmp_path_factory.mktemp("examples-onnx") / "dcgan16.onnx")


@pytest.fixture(scope="session")
def conditional_onnx(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("examples-cond")
    run = build_run(root / "run-mlp16c", arch="mlp", width=32, num_classes=10)
    return export(run, root / "mlp16c.onnx")


@pytest.fixture(scope="session")
def reference(small_onnx):
    """The direct SDK call every HTTP answer is compared with."""
    from ganedge import sdk

    with sdk.load(small_onnx, device="cpu") as g:
        yield g


@pytest.fixture(scope="module")
def server(small_onnx, tmp_path_factory):
    """The functional-test server: max_n 16 and a 20 ms batching window so concurrent requests batch."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    proc = ServerProcess(["--model", str(small_onnx), "--max-n", "16", "--max-delay-ms", "20"], log=log)
    yield proc
    proc.stop()
