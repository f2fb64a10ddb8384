"""The exported site in a real headless Chromium, served by a real static server.

The page is driven through its controls; images are read back from the visible canvas's pixels
and compared with the Python SDK's for the same seeds (within one uint8 level: onnxruntime-web's
WebAssembly kernels may round differently from onnxruntime's x86 ones). A screenshot of each
page goes to test-artifacts/web/ (GANEDGE_TEST_ARTIFACTS overrides the folder).
"""

from __future__ import annotations

import numpy as np

import pytest

from tests.web.browser import StaticServer, launch, open_page, set_control
from tests.web.conftest import ARTIFACTS, CLASS_NAMES


@pytest.fixture(scope="module")
def browser(chromium):
    with launch(chromium) as context:
        yield context


@pytest.fixture(scope="module")
def servers(sites):
    """One static server per site for the module (same origin each time: the wasm code cache helps)."""
    with StaticServer(sites["uncond"]) as uncond, StaticServer(sites["cond"]) as cond, \
            StaticServer(sites["uncond"], isolated=True) as isolated:
        yield {"uncond": uncond.url, "cond": cond.url, "isolated": isolated.url}


def _rgb(images: np.ndarray, channels: int) -> np.ndarray:
    return images[..., :channels]


def _assert_close(got: np.ndarray, want: np.ndarray, what: str) -> None:
    assert got.shape == want.shape, f"{what}: shape {got.shape} vs {want.shape}"
    diff = np.abs(got.astype(np.int16) - want.astype(np.int16))
    assert diff.max() <= 1, f"{what}: {np.count_nonzero(diff > 1)} values differ by more than 1 level (max {diff.max()})"


def _screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_page_renders_the_sdk_images(browser, servers, reference):
    g = reference["uncond"]
    with open_page(browser, servers["uncond"]) as page:
        page.wait_ready()
        first = page.canvas_images()  # the page opens on seed 0, single view
        _assert_close(_rgb(first, 3), g.sample(1, seed=0), "seed 0 at load")
        assert "1 thread" in page.page.inner_text("#model-info")  # http.server: not cross-origin isolated

        before = page.render_count()
        page.page.check("#view-grid")
        page.wait_render_after(before)
        grid = page.canvas_images()
        _assert_close(_rgb(grid, 3), g.sample(16, seed=0), "grid of seeds 0-15")
        assert "ms/image" in page.page.inner_text("#status")
        _screenshot(page, "grid-seeds-0-15")

        page.page.check("#view-single")
        page.wait_render_after(set_control(page, "#truncation", "0.5"))
        _assert_close(_rgb(page.canvas_images(), 3), g.sample(1, seed=0, truncation=0.5), "seed 0, psi 0.5")
        page.wait_render_after(set_control(page, "#seed", "9223372036854775807"))
        _assert_close(_rgb(page.canvas_images(), 3), g.sample_seeds([2**63 - 1], truncation=0.5), "seed 2**63-1")
        assert not page.errors, page.errors


def test_interpolation_ends_are_the_seeds(browser, servers, reference):
    g = reference["uncond"]
    with open_page(browser, servers["uncond"] + "?view=interp&seed=3&seed_b=17") as page:
        page.wait_ready()
        for t, seed in (("0", 3), ("1", 17)):
            page.wait_render_after(set_control(page, "#t", t))
            _assert_close(_rgb(page.canvas_images(), 3), g.sample_seeds([seed]), f"t = {t}")
        page.wait_render_after(set_control(page, "#t", "0.5"))
        middle = _rgb(page.canvas_images(), 3)
        assert (middle != g.sample_seeds([3])).any() and (middle != g.sample_seeds([17])).any()
        _screenshot(page, "interpolation")
        assert not page.errors, page.errors


def test_conditional_page_names_its_classes(browser, servers, reference):
    g = reference["cond"]
    with open_page(browser, servers["cond"] + "?view=grid&seed=0") as page:
        page.wait_ready()
        options = page.page.eval_on_selector_all("#label option", "els => els.map(e => e.textContent)")
        assert options == CLASS_NAMES
        page.wait_render_after(set_control(page, "#label", "3"))
        _assert_close(_rgb(page.canvas_images(), 3), g.sample(16, seed=0, labels=3), "class 3 (three), seeds 0-15")
        _screenshot(page, "conditional-class-three")
        assert not page.errors, page.errors


def test_threads_with_cross_origin_isolation(browser, servers, reference):
    """serve.py sends COOP/COEP: the page gets SharedArrayBuffer and runs onnxruntime-web on threads."""
    with open_page(browser, servers["isolated"] + "?view=grid&threads=2") as page:
        page.wait_ready()
        assert page.page.evaluate("crossOriginIsolated") is True
        assert "2 threads" in page.page.inner_text("#model-info")
        _assert_close(_rgb(page.canvas_images(), 3), reference["uncond"].sample(16, seed=0), "grid on 2 threads")
        assert not page.errors, page.errors


def test_page_reports_a_model_it_cannot_load(browser, sites, tmp_path):
    import shutil

    broken = tmp_path / "site"
    shutil.copytree(sites["uncond"], broken)
    (broken / "model.onnx").write_bytes(b"not an onnx file")
    with StaticServer(broken) as server, open_page(browser, server.url) as page:
        page.page.wait_for_function("document.body.dataset.status === 'error'", timeout=60_000)
        assert "cannot load the model" in page.page.inner_text("#error")
