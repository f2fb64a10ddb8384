"""A bounded load test of examples/serve: 64 concurrent clients for 30 s on loopback.

Passes on correctness only — no error, no lost or duplicated response, every image byte-identical
to a direct SDK call on its seed — never on speed. The figures (requests/s, p50/p99, mean batch
size) are printed (`pytest -s`) and written to the test's tmp folder as load.json; on a shared
2-core CI machine they are indicative at best.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field

import httpx
import numpy as np
import pytest

from ganedge.images import make_grid

from tests.examples.example_helpers import ServerProcess, decode_png

CLIENTS = 64
DURATION_S = 30.0
MAX_REQUESTS = 100_000  # the count bound; the time bound ends the run long before on 2 cores
MAX_N = 4  # requests ask for 1..4 images, so batches mix sizes
SEED_STRIDE = 8  # request i owns seeds [BASE + i*8, BASE + i*8 + n): no two requests share a seed
BASE_SEED = 1_000_000


@dataclass
class Outcome:
    request_id: int
    seed: int
    n: int
    fmt: str
    status: int | None = None
    error: str | None = None
    latency_s: float = 0.0
    headers: dict = field(default_factory=dict)
    body: bytes = b""


async def run_load(url: str) -> tuple[list[Outcome], float]:
    outcomes: list[Outcome] = []
    next_id = 0
    deadline = time.monotonic() + DURATION_S

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal next_id
        while time.monotonic() < deadline and next_id < MAX_REQUESTS:
            i, next_id = next_id, next_id + 1  # single-threaded event loop: no race
            outcome = Outcome(i, BASE_SEED + i * SEED_STRIDE, 1 + i % MAX_N, "json" if i % 3 == 0 else "png")
            outcomes.append(outcome)
            t0 = time.perf_counter()
            try:
                response = await client.get("/sample", params={"seed": outcome.seed, "n": outcome.n,
                                                               "format": outcome.fmt})
                outcome.status, outcome.headers, outcome.body = response.status_code, dict(response.headers), \
                    response.content
            except httpx.HTTPError as exc:
                outcome.error = f"{type(exc).__name__}: {exc}"
            outcome.latency_s = time.perf_counter() - t0

    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60, trust_env=False) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    return outcomes, elapsed


def images_of(outcome: Outcome) -> tuple[list[int], np.ndarray | list[np.ndarray]]:
    """(seeds the response says it holds, its images: one grid array, or one array per seed)."""
    if outcome.fmt == "json":
        body = json.loads(outcome.body)
        return ([item["seed"] for item in body["images"]],
                [decode_png(base64.b64decode(item["png"])) for item in body["images"]])
    first = int(outcome.headers["x-seed"])
    count = int(outcome.headers["x-image-count"])
    return list(range(first, first + count)), decode_png(outcome.body)


@pytest.mark.slow
def test_64_clients_for_30_s_get_exactly_their_images(small_onnx, reference, tmp_path):
    server = ServerProcess(["--model", str(small_onnx), "--max-n", str(MAX_N)], log=tmp_path / "server.log")
    try:
        outcomes, elapsed = asyncio.run(run_load(server.url))
        metrics = httpx.get(f"{server.url}/metrics", timeout=30, trust_env=False).json()
    finally:
        code = server.stop()

    failures = [o for o in outcomes if o.error or o.status != 200]
    assert not failures, f"{len(failures)} failed requests, e.g. {failures[0].error or failures[0].status}: " \
                         f"{failures[0].body[:200]!r}"
    ids = [o.request_id for o in outcomes]
    assert sorted(ids) == list(range(len(outcomes))), "a request was lost or answered twice"
    assert metrics["batcher"]["requests"] == len(outcomes) == metrics["responses_by_status"]["200"]

    # Every response holds exactly the seeds it asked for, rendered as the SDK renders them alone.
    all_seeds = [o.seed + k for o in outcomes for k in range(o.n)]
    assert len(set(all_seeds)) == len(all_seeds)
    expected = dict(zip(all_seeds, reference.sample_seeds(all_seeds)))
    for o in outcomes:
        seeds, images = images_of(o)
        assert seeds == list(range(o.seed, o.seed + o.n)), f"request {o.request_id} got seeds {seeds}"
        want = np.stack([expected[s] for s in seeds])
        if isinstance(images, list):
            assert all(np.array_equal(a, b) for a, b in zip(images, want)), f"request {o.request_id}: wrong pixels"
        else:
            assert np.array_equal(images, want[0] if o.n == 1 else make_grid(want)), \
                f"request {o.request_id}: wrong pixels"
    assert code in (0, -15), server.log_text()
    assert "Traceback" not in server.log_text()

    latencies = np.array([o.latency_s for o in outcomes]) * 1000.0
    figures = {
        "clients": CLIENTS, "seconds": round(elapsed, 2), "requests": len(outcomes), "errors": len(failures),
        "images": len(all_seeds), "requests_per_s": round(len(outcomes) / elapsed, 1),
        "images_per_s": round(len(all_seeds) / elapsed, 1),
        "latency_ms": {f"p{q}": round(float(np.percentile(latencies, q)), 2) for q in (50, 90, 99)}
        | {"max": round(float(latencies.max()), 2)},
        "mean_batch_images": metrics["batcher"]["mean_batch"], "max_batch_images": metrics["batcher"]["max_batch_seen"],
        "backend_calls": metrics["batcher"]["batches"],
    }
    (tmp_path / "load.json").write_text(json.dumps(figures, indent=1))
    print(f"\nload test (noisy shared CPU; not a speed claim): {json.dumps(figures)}")
