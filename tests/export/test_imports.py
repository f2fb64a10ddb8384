"""Export's light modules and its CLI commands' --help never import the heavy frameworks."""

import subprocess
import sys

import pytest

HEAVY = ("torch", "onnx", "onnxruntime", "tensorrt", "safetensors")


@pytest.mark.parametrize("module", ["ganedge.export", "ganedge.artifacts.onnx_safety", "ganedge.export.settings",
                                    "ganedge.export.compare", "ganedge.cli.export_onnx", "ganedge.cli.inspect",
                                    "ganedge.cli.verify"])
def test_module_imports_light(module):
    code = f"import sys, {module}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} imported {result.stdout.strip()}"


@pytest.mark.parametrize("command", [("export", "onnx"), ("inspect",), ("verify",)])
def test_help_is_light_and_has_examples(command):
    code = ("import sys\nfrom ganedge.cli.main import main\ntry:\n    main([*sys.argv[1:], '--help'])\n"
            "except SystemExit:\n    pass\n"
            f"print('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code, *command], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Examples:" in result.stdout and result.stdout.strip().endswith("HEAVY:")
