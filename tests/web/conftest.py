"""Fixtures for the web target: real exports, real sites, Node and Chromium found on the machine.

Where Node, the npm packages (``make web-deps``) or Chromium are missing, the tests that need
them skip with the reason — except when GANEDGE_REQUIRE_WEB=1 (set by .ci/run): then they fail,
so CI can never pass by skipping the browser.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.examples.example_helpers import build_run, export

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "export" / "web"
NODE_MODULES = WEB / "node_modules"
JS = Path(__file__).resolve().parent / "js"
CHROMIUM = os.environ.get("GANEDGE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("GANEDGE_TEST_ARTIFACTS", REPO / "test-artifacts")) / "web"
CLASS_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def required() -> bool:
    return os.environ.get("GANEDGE_REQUIRE_WEB") == "1"


def need(ok: bool, what: str) -> None:
    """Skip (or, under GANEDGE_REQUIRE_WEB=1, fail) when a tool the test needs is missing."""
    if ok:
        return
    if required():
        pytest.fail(f"{what} (GANEDGE_REQUIRE_WEB=1: CI must run the web tests; `make web-deps` installs them)")
    pytest.skip(f"{what}; `make web-deps` installs it")


@pytest.fixture(scope="session")
def node() -> str:
    path = shutil.which("node")
    need(path is not None, "Node.js is not installed")
    return path


@pytest.fixture(scope="session")
def node_modules() -> Path:
    need((NODE_MODULES / "onnxruntime-web" / "package.json").exists()
         and (NODE_MODULES / "onnxruntime-node" / "package.json").exists(),
         f"the npm packages are not installed in {NODE_MODULES} (run `npm ci` there)")
    return NODE_MODULES


@pytest.fixture(scope="session")
def chromium() -> str:
    need(os.access(CHROMIUM, os.X_OK), f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        need(False, "the playwright package is not installed (pip install -e '.[dev]')")
    return CHROMIUM


def run_node(node: str, script: str, *args, timeout: float = 300) -> subprocess.CompletedProcess:
    """``node tests/web/js/SCRIPT ARGS``; fails the test with Node's stderr when it exits non-zero."""
    result = subprocess.run([node, str(JS / script), *map(str, args)], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"node {script} failed ({result.returncode}):\n{result.stderr[-3000:]}"
    return result


def render_js(node: str, runtime: str, site: Path, seeds, tmp_path: Path, truncation: float = 1.0,
              labels=None) -> np.ndarray:
    """uint8 (n, H, W, C) from the site's ganedge.js on onnxruntime-node ("node") or -web's wasm ("web")."""
    spec = tmp_path / f"spec-{runtime}.json"
    spec.write_text(json.dumps({"seeds": [str(s) for s in seeds], "truncation": truncation, "labels": labels}))
    out = tmp_path / f"images-{runtime}.bin"
    run_node(node, "render.mjs", NODE_MODULES, runtime, site / "ganedge.js", site / "model.onnx", spec, out)
    manifest = json.loads((site / "site.json").read_text())["manifest"]
    c, h, w = manifest["image_shape"]
    return np.fromfile(out, dtype=np.uint8).reshape(len(seeds), h, w, c)


def add_class_names(path: Path, names: list[str]) -> None:
    """Rewrite the export's manifest with class_names (the optional manifest field the page shows)."""
    import onnx

    from ganedge.artifacts.onnx_meta import read_manifest, set_manifest

    model = onnx.load(str(path))
    manifest = read_manifest(model)
    set_manifest(model, manifest.replace(extra={**manifest.extra, "class_names": names}))
    onnx.save(model, str(path))


@pytest.fixture(scope="session")
def web_models(tmp_path_factory) -> dict[str, Path]:
    """fp32 exports: an unconditional 16x16 DCGAN and a conditional one (10 named classes).

    The last layer's gain of 100 makes images of random-init models span most of [0, 255] and
    differ between seeds by ~35 levels on average (at gain 3 they are flat grey +-10), so an
    image compared with the wrong seed's, or a latent off by more than rounding, cannot pass.
    """
    root = tmp_path_factory.mktemp("web-models")
    uncond = export(build_run(root / "run-dcgan16", width=16, gain=100.0), root / "dcgan16.onnx")
    cond = export(build_run(root / "run-dcgan16c", width=16, num_classes=10, gain=100.0), root / "dcgan16c.onnx")
    add_class_names(cond, CLASS_NAMES)
    return {"uncond": uncond, "cond": cond}


@pytest.fixture(scope="session")
def sites(web_models, tmp_path_factory) -> dict[str, Path]:
    """`ganedge export web` of each model (built once; tests must not modify them)."""
    need((NODE_MODULES / "onnxruntime-web" / "package.json").exists(),
         f"onnxruntime-web is not installed in {NODE_MODULES} (run `npm ci` there)")
    from ganedge.export.web import WebOptions, build_site

    root = tmp_path_factory.mktemp("web-sites")
    return {name: build_site(path, root / name, WebOptions(title=f"test {name}")).site
            for name, path in web_models.items()}


@pytest.fixture(scope="session")
def reference(web_models):
    """Python SDK generators on onnxruntime CPU: what every JS image is compared with."""
    from ganedge import sdk

    gens = {name: sdk.load(path, backend="onnxruntime", device="cpu") for name, path in web_models.items()}
    yield gens
    for g in gens.values():
        g.close()
