"""The light-import promise: the runtime and the CLI entry never import heavy frameworks."""

import subprocess
import sys

import pytest

HEAVY = ("torch", "onnx", "onnxruntime", "openvino", "tensorrt", "matplotlib", "safetensors", "sklearn")


@pytest.mark.parametrize("module", ["ganedge", "ganedge.sdk", "ganedge.cli.main", "ganedge.latents",
                                    "ganedge.images", "ganedge.artifacts.manifest", "ganedge.artifacts.run_config",
                                    "ganedge.jsonable", "ganedge.click_types", "ganedge.models.random_run",
                                    "ganedge.bench.gpu_bench"])
def test_module_imports_light(module):
    code = f"import sys, {module}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} imported {result.stdout.strip()}"
