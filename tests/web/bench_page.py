"""ms/image in headless Chromium (onnxruntime-web, WebAssembly) beside the Python SDK, same machine.

    python -m tests.web.bench_page MODEL.onnx [MODEL.onnx ...] [--threads 1,4] [--batch 1,16] [--repeats 30]

For each model: builds the site, serves it with serve.py (cross-origin isolated, so the page may
use WebAssembly threads), opens it in Debian's Chromium and runs the page's own measurement
(worker.js "bench": median ms/image over --repeats batches after a warm-up batch, latents and
uint8 conversion included), alternating with the Python SDK (onnxruntime CPU, the same seeds,
batch and thread count) for --rounds rounds; each side's best round is reported. Prints one
Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from tests.web.browser import StaticServer, launch, open_page
from tests.web.conftest import CHROMIUM


def measure(site: Path, model: Path, threads: int, batch: int, repeats: int, rounds: int, labels) -> dict:
    """Interleaved rounds (page, then SDK, ``rounds`` times) so both see the same machine load;
    per side: the best round's median ms/image."""
    from ganedge import sdk

    page_rounds, sdk_rounds = [], []
    with StaticServer(site, isolated=True) as server, launch(CHROMIUM) as browser, \
            open_page(browser, f"{server.url}?threads={threads}") as page, \
            sdk.load(model, backend="onnxruntime", device="cpu", threads=threads) as g:
        page.wait_ready(timeout_ms=120_000)
        used = int(page.page.evaluate("document.getElementById('model-info').textContent.match(/(\\d+) thread/)[1]"))
        g.sample(batch, seed=1000, labels=labels)
        for _ in range(rounds):
            result = page.page.evaluate("([b, r]) => window.ganedgeDemo.call('bench', {batch: b, repeats: r})",
                                        [batch, repeats])
            page_rounds.append(result["medianMs"])
            per = []
            for r in range(repeats):
                t0 = time.perf_counter()
                g.sample(batch, seed=1000 + r * batch, labels=labels)
                per.append((time.perf_counter() - t0) * 1000 / batch)
            sdk_rounds.append(statistics.median(per))
        assert not page.errors, page.errors
    return {"threads": used, "page_ms": min(page_rounds), "sdk_ms": min(sdk_rounds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--threads", default="1,4")
    parser.add_argument("--batch", default="1,16")
    parser.add_argument("--repeats", type=int, default=20, help="batches per round and side")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from ganedge.export.web import WebOptions, build_site, read_web_model

    print("| model | site size | batch | threads | Chromium wasm ms/image | Python SDK ms/image | page / SDK |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for model in args.models:
        manifest, _ = read_web_model(model)
        labels = 0 if manifest.num_classes else None
        with tempfile.TemporaryDirectory() as tmp:
            site = build_site(model, Path(tmp) / "site", WebOptions()).site
            size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
            for batch in map(int, args.batch.split(",")):
                for threads in map(int, args.threads.split(",")):
                    m = measure(site, model, threads, batch, args.repeats, args.rounds, labels)
                    print(f"| {model.name} | {size / 1e6:.1f} MB | {batch} | {m['threads']} | {m['page_ms']:.3f} | "
                          f"{m['sdk_ms']:.3f} | {m['page_ms'] / m['sdk_ms']:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
