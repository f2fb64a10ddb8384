"""The layer order of docs/architecture.md, enforced on every module's imports.

Bottom to top:

    core  ->  artifacts  ->  models, data  ->  metrics  ->  sdk | train  ->  export  ->  bench, generate  ->  cli

A module may import its own package and anything in a lower layer; never a higher layer, and (below
the top) never a sibling package of its own layer (``sdk`` and ``train`` stand side by side and know nothing of each
other). Imports are read from the source (AST), lazy ones inside functions included, without running
anything. Examples and scripts sit above everything and are not checked.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Source folders -> the package name they install as (pyproject's package-dir).
SOURCE_ROOTS = {"ganedge": "ganedge", "sdk": "ganedge.sdk", "export": "ganedge.export", "bench": "ganedge.bench"}

# (package prefix, layer). The longest matching prefix wins; a module matching none is core.
LAYERS: tuple[tuple[str, int], ...] = (
    ("ganedge", 0),  # errors, latents, images, fsutil, seeds, progress, machine, jsonable
    ("ganedge.artifacts", 1),
    ("ganedge.models", 2),
    ("ganedge.data", 2),
    ("ganedge.metrics", 3),
    ("ganedge.sdk", 4),
    ("ganedge.train", 4),
    ("ganedge.export", 5),
    ("ganedge.bench", 6),
    ("ganedge.generate", 6),
    ("ganedge.cli", 7),
    ("ganedge.demo", 7),
    ("ganedge.__main__", 7),
)


TOP = max(layer for _, layer in LAYERS)  # the CLI's modules call one another freely


def layer_of(module: str) -> tuple[str, int]:
    """(the package that owns ``module``, its layer)."""
    best = ("ganedge", 0)
    for prefix, layer in LAYERS:
        if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best[0]):
            best = (prefix, layer)
    return best


def module_name(path: Path) -> str:
    rel = path.relative_to(REPO)
    package = SOURCE_ROOTS[rel.parts[0]]
    parts = list(rel.with_suffix("").parts[1:])
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, absolute module name) of every ganedge import in ``source``, relative ones resolved."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "ganedge":  # `from ganedge import sdk` imports the subpackage ganedge.sdk
                found += [(node.lineno, f"ganedge.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, target))
    return [(line, name) for line, name in found if name == "ganedge" or name.startswith("ganedge.")]


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """Imports in ``source`` (the code of ``module``) that break the layer order."""
    owner, layer = layer_of(module)
    bad = []
    for line, target in imported_modules(source, module, is_package):
        target_owner, target_layer = layer_of(target)
        if target_owner == owner:
            continue
        if target_layer > layer or (target_layer == layer and layer not in (0, TOP)):
            bad.append(f"{module}:{line} imports {target} ({target_owner}, layer {target_layer}) "
                       f"from {owner} (layer {layer})")
    return bad


def source_files() -> list[Path]:
    return sorted(p for root in SOURCE_ROOTS for p in (REPO / root).rglob("*.py"))


def test_every_import_follows_the_layer_order():
    assert len(source_files()) > 100  # the walk found the tree
    bad = []
    for path in source_files():
        bad += violations(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")
    assert not bad, "imports against the layer order (docs/architecture.md):\n" + "\n".join(bad)


@pytest.mark.parametrize("module, source", [
    ("ganedge.sdk.backends.synthetic", "from ganedge.export.pipeline import export_onnx\n"),  # up
    ("ganedge.sdk.synthetic", "def f():\n    from ganedge.train.loop import train\n"),  # sideways, lazily
    ("ganedge.artifacts.synthetic", "import ganedge.sdk\n"),
    ("ganedge.latents", "from ganedge import sdk\n"),
    ("ganedge.export.synthetic", "from ..bench import core\n"),  # relative, up
])
def test_a_synthetic_upward_import_is_caught(module, source):
    assert len(violations(source, module)) == 1


@pytest.mark.parametrize("module, source", [
    ("ganedge.export.synthetic", "from ganedge.sdk import load\nfrom ganedge.models import x\n"),
    ("ganedge.sdk.synthetic", "from ganedge.artifacts.manifest import Manifest\nfrom ganedge.errors import E\n"),
    ("ganedge.cli.synthetic", "from ganedge.bench.core import run_bench\n"),
    ("ganedge.sdk.backends.synthetic", "from . import base\nfrom ..generator import Generator\n"),
])
def test_downward_and_own_package_imports_pass(module, source):
    assert violations(source, module) == []
