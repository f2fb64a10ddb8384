"""ganedge.generate sits above ganedge.sdk and below the CLI: it never imports export, bench,
cli or train, and importing it loads no heavy framework (Ray only when --ray is used)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import ganedge.generate

PACKAGE = Path(ganedge.generate.__file__).parent
FORBIDDEN = ("ganedge.export", "ganedge.bench", "ganedge.cli", "ganedge.train")
HEAVY = ("torch", "onnx", "onnxruntime", "ray", "webdataset", "tensorrt")


def imported_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("module", sorted(p.name for p in PACKAGE.glob("*.py")))
def test_no_upper_layer_imports(module):
    bad = [name for name in imported_modules(PACKAGE / module) if name.startswith(FORBIDDEN)]
    assert not bad, f"{module} imports {bad}"


def test_importing_it_is_light():
    code = f"import sys, ganedge.generate, ganedge.cli.generate; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr
