"""The wheel holds every subpackage and every file the package reads or runs, and nothing of the build.

Expected contents come from the checkout, not from a list kept here: every file git tracks (or
would track) under the package folders must be in the wheel at its installed path, except docs
(``*.md``). A new subpackage missing from pyproject's ``packages``, or a new data file missing
from ``package-data``, fails here before a user's install does.
"""

from __future__ import annotations

import subprocess
import zipfile

import pytest

from tests.packaging.installs import REPO, SKIP

# Source folder -> where it installs (pyproject's package-dir).
PACKAGE_DIRS = {"ganedge": "ganedge", "sdk": "ganedge/sdk", "export": "ganedge/export", "bench": "ganedge/bench"}
NOT_SHIPPED = (".md",)  # READMEs beside the code, for readers of the repository


def _checkout_files() -> list[str]:
    """Files under the package folders that git tracks or would track (untracked, not ignored)."""
    result = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *PACKAGE_DIRS],
                            cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:  # not a git checkout (an unpacked sdist): every file but caches
        return [str(p.relative_to(REPO)) for d in PACKAGE_DIRS for p in (REPO / d).rglob("*")
                if p.is_file() and not any(part in SKIP for part in p.parts)]
    return [line for line in result.stdout.splitlines() if (REPO / line).is_file()]


def _installed_path(source: str) -> str:
    top, _, rest = source.partition("/")
    return f"{PACKAGE_DIRS[top]}/{rest}"


@pytest.fixture(scope="module")
def names(wheel) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_every_file_the_package_needs_is_in_the_wheel(names):
    expected = {_installed_path(f) for f in _checkout_files() if not f.endswith(NOT_SHIPPED)}
    missing = sorted(expected - names)
    assert not missing, f"{len(missing)} file(s) not in the wheel, e.g. {missing[:5]} (pyproject packages/package-data)"
    # The files the package reads or runs, named so a broken glob cannot pass by matching nothing.
    for needed in ("ganedge/metrics/weights/scenes-v1.safetensors", "ganedge/metrics/weights/scenes-v1.json",
                   "ganedge/metrics/weights/digits-v1.safetensors", "ganedge/bench/gpu_check.sh",
                   "ganedge/export/web/package.json", "ganedge/export/web/package-lock.json",
                   "ganedge/export/web/assets/ganedge.js", "ganedge/export/web/assets/index.html"):
        assert needed in names


def test_every_subpackage_is_in_the_wheel(names):
    packages = {_installed_path(f).rpartition("/")[0] for f in _checkout_files() if f.endswith("/__init__.py")}
    assert {"ganedge/sdk/backends/onnxrt", "ganedge/export/web", "ganedge/artifacts"} <= packages
    missing = sorted(p for p in packages if f"{p}/__init__.py" not in names)
    assert not missing, f"subpackages not in the wheel: {missing} (add them to pyproject's packages)"


def test_nothing_of_the_build_or_the_checkout_is_shipped(names):
    bad = [n for n in names if any(part in SKIP for part in n.split("/")) or n.endswith((".pyc", ".onnx"))
           or n.startswith(("tests/", "examples/", "docs/", "scripts/"))]
    assert not bad, bad[:5]


def test_metadata_names_the_entry_point_and_the_extras(wheel, names):
    (info,) = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
    with zipfile.ZipFile(wheel) as archive:
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        metadata = archive.read(f"{info}/METADATA").decode()
    assert "ganedge = ganedge.cli.main:main" in entry_points
    extras = {line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Provides-Extra:")}
    assert {"cpu", "gpu", "train", "bench", "serve", "dev"} <= extras
