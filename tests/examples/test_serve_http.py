"""examples/serve: a real uvicorn process on a free loopback port, exercised with a real HTTP client.

Every image that comes back is compared byte for byte with a direct ``ganedge.sdk`` call on the
same seeds: batching must never change (or mix up) what a seed renders.
"""

from __future__ import annotations

import base64
import concurrent.futures
import json
import signal
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest

from ganedge.images import make_grid

from tests.examples.example_helpers import SERVER, ServerProcess, decode_png


_clients: dict[str, httpx.Client] = {}


def get(server, query: str = "", path: str = "/sample") -> httpx.Response:
    # One pooled client per server: a fresh httpx.Client per call costs more CPU than the request.
    client = _clients.get(server.url)
    if client is None:
        client = _clients[server.url] = httpx.Client(base_url=server.url, timeout=30, trust_env=False,
                                                     limits=httpx.Limits(max_connections=64))
    return client.get(f"{path}{'?' + query if query else ''}")


@pytest.fixture(scope="module", autouse=True)
def close_clients():
    yield
    for client in _clients.values():
        client.close()
    _clients.clear()


def test_one_png_per_seed_equals_the_sdk(server, reference):
    response = get(server, "seed=7")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-seed"] == "7" and response.headers["x-image-count"] == "1"
    assert response.headers["cache-control"].startswith("public")
    assert np.array_equal(decode_png(response.content), reference.sample(1, seed=7)[0])


def test_n_images_come_as_one_grid(server, reference):
    response = get(server, "seed=100&n=5")
    assert response.status_code == 200 and response.headers["x-seeds"] == "100-104"
    assert np.array_equal(decode_png(response.content), make_grid(reference.sample(5, seed=100)))


def test_json_format_carries_each_seed_and_its_png(server, reference):
    response = get(server, "seed=40&n=3&format=json")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["n"] == 3 and (body["height"], body["width"], body["channels"]) == (16, 16, 3)
    assert [item["seed"] for item in body["images"]] == [40, 41, 42]
    expected = reference.sample(3, seed=40)
    for item, image in zip(body["images"], expected):
        assert np.array_equal(decode_png(base64.b64decode(item["png"])), image)


def test_without_a_seed_a_random_one_is_drawn_and_reported(server, reference):
    response = get(server)
    assert response.status_code == 200
    seed = int(response.headers["x-seed"])
    assert 0 <= seed < 2**63
    assert response.headers["cache-control"] == "no-store"
    assert np.array_equal(decode_png(response.content), reference.sample(1, seed=seed)[0])


def test_largest_seed_is_served(server, reference):
    seed = 2**63 - 1
    response = get(server, f"seed={seed}")
    assert response.status_code == 200
    assert np.array_equal(decode_png(response.content), reference.sample_seeds([seed])[0])


@pytest.mark.parametrize("query, status, param", [
    ("seed=abc", 400, "seed"),
    ("seed=", 400, "seed"),
    ("seed=1.5", 400, "seed"),
    ("seed=1e3", 400, "seed"),
    ("seed=+5", 400, "seed"),
    ("seed=%205", 400, "seed"),  # " 5": int() would take it
    ("seed=%D9%A3", 400, "seed"),  # Arabic-Indic digit three: int() would take it too
    ("seed=0x10", 400, "seed"),
    ("seed=" + "9" * 101, 400, "seed"),
    ("seed=-1", 422, "seed"),
    ("seed=9223372036854775808", 422, "seed"),  # 2**63
    ("seed=99999999999999999999999", 422, "seed"),
    ("seed=9223372036854775807&n=2", 422, "seed"),  # runs past 2**63 - 1
    ("seed=1&seed=2", 400, "seed"),
    ("n=0", 422, "n"),
    ("n=17", 422, "n"),  # this server's --max-n is 16
    ("n=-3", 422, "n"),
    ("n=two", 400, "n"),
    ("format=gif", 422, "format"),
    ("label=1", 422, "label"),  # an unconditional model
    ("truncation=nan", 400, "truncation"),
    ("truncation=-1", 400, "truncation"),
    ("truncation=1e400", 422, "truncation"),
    ("truncation=11", 422, "truncation"),
    ("colour=red", 400, "colour"),
])
def test_bad_queries_get_a_json_error_naming_the_parameter(server, query, status, param):
    response = get(server, query)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["param"] == param
    assert isinstance(body["error"], str) and body["error"] and "\n" not in body["error"]
    assert "Traceback" not in response.text


def test_unknown_paths_and_methods_answer_json(server):
    missing = get(server, path="/nope")
    assert missing.status_code == 404 and missing.json() == {"error": "Not Found"}
    post = httpx.post(f"{server.url}/sample?seed=1", timeout=30, trust_env=False)
    assert post.status_code == 405 and "error" in post.json()


def test_healthz_describes_the_model(server, small_onnx):
    body = get(server, path="/healthz").json()
    assert body["status"] == "ok" and body["backend"] == "onnxruntime" and body["device"] == "cpu"
    assert body["image_shape"] == [3, 16, 16] and body["latent_dim"] == 32 and body["max_n"] == 16
    assert body["model"] == str(small_onnx)


def test_concurrent_requests_share_batches_and_metrics_count_them(server, reference):
    before = get(server, path="/metrics").json()
    seeds = list(range(5000, 5032))
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        responses = list(pool.map(lambda s: get(server, f"seed={s}&n=2"), seeds))
    assert all(r.status_code == 200 for r in responses)
    expected = reference.sample_seeds([s + i for s in seeds for i in (0, 1)])
    for k, r in enumerate(responses):
        assert np.array_equal(decode_png(r.content), make_grid(expected[2 * k:2 * k + 2]))
    after = get(server, path="/metrics").json()
    requests = after["batcher"]["requests"] - before["batcher"]["requests"]
    batches = after["batcher"]["batches"] - before["batcher"]["batches"]
    assert requests == 32
    assert after["batcher"]["images"] - before["batcher"]["images"] == 64
    assert batches < requests  # a 20 ms window: 32 simultaneous requests cannot all run alone
    assert after["responses_by_status"]["200"] - before["responses_by_status"].get("200", 0) == 32
    assert after["queue_depth"] == 0 and after["in_flight_requests"] == 0
    assert after["latency_ms"]["p99"] >= after["latency_ms"]["p50"] > 0


def test_conditional_model_needs_a_label_in_range(conditional_onnx, tmp_path):
    from ganedge import sdk

    server = ServerProcess(["--model", str(conditional_onnx), "--max-n", "4"], log=tmp_path / "server.log")
    try:
        assert get(server, "seed=1").json()["param"] == "label"
        assert get(server, "seed=1&label=10").status_code == 422
        response = get(server, "seed=3&n=4&label=7&truncation=0.5")
        assert response.status_code == 200
        with sdk.load(conditional_onnx, device="cpu") as g:
            expected = g.sample(4, seed=3, labels=7, truncation=0.5)
        assert np.array_equal(decode_png(response.content), make_grid(expected))
    finally:
        server.stop()


def test_env_configuration_queue_full_503_and_graceful_shutdown(small_onnx, tmp_path):
    """Configured only through GANEDGE_SERVE_*: a queue of one image and a 1.5 s batching window,
    so a second request while the first waits is refused with 503 + Retry-After; then SIGTERM
    lets the waiting request finish before the process exits."""
    env = {"GANEDGE_SERVE_MODEL": str(small_onnx), "GANEDGE_SERVE_MAX_QUEUE": "1", "GANEDGE_SERVE_MAX_N": "1",
           "GANEDGE_SERVE_MAX_DELAY_MS": "1500"}
    server = ServerProcess([], env=env, log=tmp_path / "server.log")
    try:
        assert get(server, path="/healthz").json()["max_n"] == 1
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(get, server, "seed=11")
            deadline = time.monotonic() + 10
            while get(server, path="/metrics").json()["queue_depth"] < 1:
                assert time.monotonic() < deadline, "the first request never reached the queue"
                time.sleep(0.02)
            busy = get(server, "seed=12")
            assert busy.status_code == 503
            assert busy.headers["retry-after"] == "1" and "queue is full" in busy.json()["error"]
            server.proc.send_signal(signal.SIGTERM)  # while seed 11 is still waiting for its batch
            first = waiting.result(timeout=30)
        assert first.status_code == 200 and first.headers["x-seed"] == "11"
        code = server.proc.wait(30)
        assert code in (0, -15), server.log_text()  # uvicorn re-raises the signal after a clean shutdown
        assert "Traceback" not in server.log_text()
    finally:
        server.stop()


def test_bad_model_fails_at_once_with_one_line(tmp_path):
    result = subprocess.run([sys.executable, str(SERVER), "--model", str(tmp_path / "missing.onnx"), "--port", "0"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "does not exist" in result.stderr and result.stdout == ""


def test_max_n_above_max_queue_is_refused(small_onnx):
    result = subprocess.run([sys.executable, str(SERVER), "--model", str(small_onnx), "--max-n", "8",
                             "--max-queue", "4"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--max-queue" in result.stderr and "Traceback" not in result.stderr


def test_ready_line_is_json_with_the_bound_port(server):
    assert server.ready["event"] == "ready" and server.url.startswith("http://127.0.0.1:")
    assert int(server.url.rsplit(":", 1)[1]) > 0
    assert json.loads(json.dumps(server.ready))["max_n"] == 16


def _metrics_when(server, done, timeout: float = 30.0) -> dict:
    """/metrics, polled until ``done(metrics)`` holds (the server notices a hang-up on its own schedule)."""
    deadline = time.monotonic() + timeout
    while not done(metrics := get(server, path="/metrics").json()):
        assert time.monotonic() < deadline, f"metrics never got there: {metrics}"
        time.sleep(0.05)
    return metrics


def test_work_of_a_client_that_gave_up_or_timed_out_is_dropped_not_served(small_onnx, tmp_path):
    """A lone request waits 2 s for company (--max-delay-ms). A client that gives up after 0.3 s is
    noticed (499, never counted as served) and one that outlives the 0.6 s deadline gets 504; both
    requests leave the queue at once and are never rendered."""
    server = ServerProcess(["--model", str(small_onnx), "--max-delay-ms", "2000", "--request-timeout-s", "0.6"],
                           log=tmp_path / "server.log")
    try:
        with pytest.raises(httpx.TimeoutException):
            httpx.get(f"{server.url}/sample?seed=1", timeout=0.3, trust_env=False)
        gone = _metrics_when(server, lambda m: m["client_gone"] == 1)
        assert gone["images_served"] == 0 and gone["queue_depth"] == 0 and gone["batcher"]["cancelled"] == 1
        late = get(server, "seed=2")
        assert late.status_code == 504 and "within 0.6 s" in late.json()["error"]
        time.sleep(2.5)  # past the batching window: had the requests stayed queued, they would have run by now
        after = get(server, path="/metrics").json()
        assert after["batcher"]["batches"] == 0 and after["batcher"]["cancelled"] == 2
        assert after["responses_by_status"] == {"499": 1, "504": 1} and after["images_served"] == 0
        assert get(server, "seed=3").status_code == 504  # the service still answers (and still drops late work)
    finally:
        code = server.stop()
    assert code in (0, -15) and "Traceback" not in server.log_text()


def test_n_out_of_range_says_how_many_bytes_it_would_be(server):
    response = get(server, "n=1000000000000")
    assert response.status_code == 422 and response.json()["param"] == "n"
    assert "768000000000000 bytes" in response.json()["error"].replace(",", "")  # 10**12 images of 3x16x16


def test_a_max_n_whose_images_could_never_fit_in_memory_is_refused_at_start(small_onnx):
    huge = str(10**12)
    result = subprocess.run([sys.executable, str(SERVER), "--model", str(small_onnx), "--port", "0", "--max-n", huge,
                             "--max-queue", huge], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and "768000000000000 bytes" in result.stderr.replace(",", "")
