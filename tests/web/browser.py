"""A real static server and a real headless Chromium for the web tests (and the page benchmark).

``StaticServer`` runs ``python -m http.server`` (what the docs tell users) or the site's own
serve.py (COOP/COEP headers) as a subprocess on a free loopback port. ``launch`` starts
Debian's Chromium through Playwright with the flags a machine without outside network needs;
``open_page`` opens a page in it and collects console errors and uncaught exceptions.
"""

from __future__ import annotations

import base64
import contextlib
import io
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class StaticServer:
    """Serve ``folder`` on 127.0.0.1; ``isolated=True`` uses the site's serve.py (threads allowed)."""

    def __init__(self, folder: Path, isolated: bool = False):
        port = _free_port()
        if isolated:
            cmd = [sys.executable, "-u", str(folder / "serve.py"), "--port", str(port)]
        else:
            cmd = [sys.executable, "-u", "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(folder)]
        self.url = f"http://127.0.0.1:{port}/"
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.process.stdout.read()}")
            time.sleep(0.05)
        self.close()
        raise RuntimeError(f"no server on port {port} after 15 s")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()

    def __enter__(self) -> "StaticServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Page:
    """A Playwright page plus what it logged: ``errors`` holds console errors and uncaught exceptions."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        self.messages: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on("requestfailed", lambda req: self.errors.append(f"request failed: {req.url} {req.failure}"))

    def _console(self, message) -> None:
        self.messages.append(f"{message.type}: {message.text}")
        if message.type == "error":
            self.errors.append(f"console.error: {message.text}")

    def wait_ready(self, timeout_ms: int = 60_000) -> None:
        self.page.wait_for_function("document.body.dataset.status === 'ready' && "
                                    "Number(document.getElementById('canvas').dataset.render || 0) > 0",
                                    timeout=timeout_ms)

    def render_count(self) -> int:
        return int(self.page.evaluate("Number(document.getElementById('canvas').dataset.render || 0)"))

    def wait_render_after(self, count: int, timeout_ms: int = 60_000) -> None:
        """Wait until a render newer than ``count`` is on the canvas and nothing is queued."""
        self.page.wait_for_function(
            f"Number(document.getElementById('canvas').dataset.render || 0) > {count} && "
            "document.body.dataset.status === 'ready'", timeout=timeout_ms)

    def canvas_images(self) -> np.ndarray:
        """The images on the visible canvas, read back from its pixels: uint8 (n, H, W, 4).

        Uses the layout the page records on the canvas (data-scale/-pad/-cols/-count/-width/-height)
        and checks that every upscaled block is one colour (nearest-neighbour scaling).
        """
        info = self.page.evaluate("""() => {
            const c = document.getElementById('canvas');
            return {layout: {...c.dataset}, png: c.toDataURL('image/png')};
        }""")  # PNG is lossless and far faster to carry out of the page than a JSON array of pixels
        layout = {k: int(v) for k, v in info["layout"].items()}
        with Image.open(io.BytesIO(base64.b64decode(info["png"].split(",", 1)[1]))) as png:
            pixels = np.asarray(png.convert("RGBA"))
        s, pad, cols, h, w = layout["scale"], layout["pad"], layout["cols"], layout["height"], layout["width"]
        images = []
        for i in range(layout["count"]):
            y, x = (i // cols) * (h * s + pad), (i % cols) * (w * s + pad)
            block = pixels[y:y + h * s, x:x + w * s].reshape(h, s, w, s, 4)
            first = block[:, :1, :, :1]
            assert (block == first).all(), f"image {i} on the canvas is not a nearest-neighbour upscale"
            images.append(first[:, 0, :, 0])
        return np.stack(images)


@contextlib.contextmanager
def launch(chromium: str, viewport=(1000, 760)) -> Iterator:
    """A Playwright browser context on Debian's Chromium with a fresh profile (its wasm code cache
    makes later page loads in the same context cheaper)."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="ganedge-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=chromium, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": viewport[0], "height": viewport[1]})
        try:
            yield context
        finally:
            context.close()


@contextlib.contextmanager
def open_page(context, url: str) -> Iterator[Page]:
    page = Page(context.new_page())
    try:
        page.page.goto(url)
        yield page
    finally:
        page.page.close()


def set_control(page: Page, selector: str, value: str) -> int:
    """Set an input/select the way a user's edit does (value + input/change events); returns the render
    count before, for ``wait_render_after``."""
    before = page.render_count()
    page.page.evaluate("""([sel, value]) => {
        const el = document.querySelector(sel);
        el.value = value;
        el.dispatchEvent(new Event('input', {bubbles: true}));
        el.dispatchEvent(new Event('change', {bubbles: true}));
    }""", [selector, value])
    return before


def sanitize(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
