"""sdk.Batcher: identical results, Triton-style batching, bounded queue, error isolation, shutdown."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from ganedge import sdk
from ganedge.errors import BadInputError, ClosedError, NumericalError, QueueFullError
from ganedge.latents import latents


def test_results_equal_direct_sampling_and_requests_get_batched(g):
    requests = [(seed, n) for seed, n in zip(range(0, 3200, 100), [1, 2, 3] * 11)]
    with sdk.Batcher(g, max_batch=16, max_delay_ms=200) as batcher:
        barrier = threading.Barrier(len(requests))

        def call(req):
            barrier.wait()
            return batcher.sample(req[0], n=req[1], timeout=60)

        with ThreadPoolExecutor(len(requests)) as pool:
            results = list(pool.map(call, requests))
        stats = batcher.stats()
    for (seed, n), images in zip(requests, results):
        np.testing.assert_array_equal(images, g.sample(n, seed=seed))
    assert stats.requests == len(requests) and stats.images == sum(n for _, n in requests)
    assert stats.batches < len(requests) and 1 < stats.max_batch_seen <= 16  # batched, never above max_batch


def test_truncation_and_labels_per_request(g, models):
    with sdk.Batcher(g, max_delay_ms=20) as batcher:
        futures = [batcher.submit(5, n=2, truncation=0.5), batcher.submit(5, n=2), batcher.submit(9, truncation=0.0)]
        np.testing.assert_array_equal(futures[0].result(30), g.sample(2, seed=5, truncation=0.5))
        np.testing.assert_array_equal(futures[1].result(30), g.sample(2, seed=5))
        np.testing.assert_array_equal(futures[2].result(30), g.sample(1, seed=9, truncation=0.0))
    with sdk.load(models["cond"]) as cond, sdk.Batcher(cond, max_delay_ms=20) as batcher:
        a, b = batcher.submit(3, n=2, labels=[1, 9]), batcher.submit(3, n=2, labels=4)
        np.testing.assert_array_equal(a.result(30), cond.sample(2, seed=3, labels=[1, 9]))
        np.testing.assert_array_equal(b.result(30), cond.sample(2, seed=3, labels=4))
        with pytest.raises(BadInputError, match="conditional"):
            batcher.submit(3)


def test_bad_requests_fail_in_submit(g):
    with sdk.Batcher(g, max_queue=8) as batcher:
        for kwargs, match in ((dict(seed=-1), "outside|leave"), (dict(seed=0, n=-1), "n must be"),
                              (dict(seed=0, labels=2), "unconditional"), (dict(seed=0, truncation=float("inf")), "finite"),
                              (dict(seed=0, n=9), "can never fit")):
            with pytest.raises(BadInputError, match=match):
                batcher.submit(**kwargs)
        assert batcher.sample(0, n=0).shape == (0, 32, 32, 3)


@pytest.mark.parametrize("kwargs", [dict(max_batch=0), dict(max_queue=0), dict(max_delay_ms=-1), dict(max_batch=2.5)])
def test_bad_batcher_settings(g, kwargs):
    with pytest.raises(BadInputError):
        sdk.Batcher(g, **kwargs)


def test_full_queue_rejects_at_once_and_close_finishes_queued_work(models):
    # Batches of one keep the worker busy while a tight loop of submits fills the queue.
    with sdk.load(models["dcgan"]) as g:
        batcher = sdk.Batcher(g, max_batch=1, max_delay_ms=0, max_queue=4)
        futures, rejected = [], 0
        for seed in range(40):
            try:
                futures.append(batcher.submit(seed))
            except QueueFullError as exc:
                assert "queue is full" in str(exc)
                rejected += 1
        assert rejected > 0 and batcher.stats().rejected == rejected
        batcher.close(wait=True)  # everything accepted still completes
        for future in futures:
            assert future.done() and future.result().shape == (1, 32, 32, 3)
        with pytest.raises(ClosedError):
            batcher.submit(0)


def test_close_can_cancel_pending_work(g):
    batcher = sdk.Batcher(g, max_batch=1, max_delay_ms=0, max_queue=1000)
    futures = [batcher.submit(seed) for seed in range(200)]
    batcher.close(wait=True, cancel_pending=True)
    assert all(f.done() for f in futures)
    assert any(f.cancelled() for f in futures)
    done = [f for f in futures if not f.cancelled()]
    for f in done:
        assert f.result().shape == (1, 32, 32, 3)


def test_error_reaches_only_the_affected_futures(nan_onnx):
    z0 = latents(range(40), 8)[:, 0]
    bad = [s for s in range(40) if z0[s] < 0][:3]
    good = [s for s in range(40) if z0[s] >= 0][:5]
    with sdk.load(nan_onnx) as g, sdk.Batcher(g, max_batch=64, max_delay_ms=100) as batcher:
        futures = {seed: batcher.submit(seed) for seed in bad + good}
        for seed in good:
            np.testing.assert_array_equal(futures[seed].result(30), g.sample(1, seed=seed))
        for seed in bad:
            with pytest.raises(NumericalError, match=f"seeds \\[{seed}\\]"):
                futures[seed].result(30)
        assert batcher.stats().failed == len(bad)


def test_max_delay_bounds_the_wait_of_a_lone_request(g):
    with sdk.Batcher(g, max_batch=64, max_delay_ms=1) as batcher:
        batcher.sample(0)  # warm
        start = time.perf_counter()
        batcher.sample(1)
        # A lone request must not wait for 63 others: it runs after ~1 ms (generous bound for a busy CI box).
        assert time.perf_counter() - start < 5.0
        assert batcher.stats().batches == 2


def test_asyncio_wrapper(g):
    async def main(batcher):
        return await asyncio.gather(*(batcher.asample(seed) for seed in range(6)))

    with sdk.Batcher(g, max_delay_ms=20) as batcher:
        results = asyncio.run(main(batcher))
    np.testing.assert_array_equal(np.concatenate(results), g.sample(6))


def test_generator_closed_under_the_batcher(models):
    g = sdk.load(models["mlp"])
    with sdk.Batcher(g, max_delay_ms=0) as batcher:
        g.close()
        with pytest.raises(ClosedError):
            batcher.sample(0, timeout=30)


def test_batches_above_the_runners_limit_are_split(models):
    # A TensorRT profile caps the batch; the onnxruntime runner here is given the same cap.
    with sdk.load(models["dcgan"]) as g:
        expected = g.sample(12, seed=50)
        g._runner.max_batch = 4
        with sdk.Batcher(g, max_batch=16, max_delay_ms=200) as batcher:
            futures = [batcher.submit(50 + 3 * i, n=3) for i in range(4)]
            np.testing.assert_array_equal(np.concatenate([f.result(30) for f in futures]), expected)
            assert batcher.stats().max_batch_seen == 12
        np.testing.assert_array_equal(g.sample(12, seed=50), expected)


def test_image_gives_one_image_and_sample_a_batch(g):
    with sdk.Batcher(g, max_delay_ms=0) as batcher:
        image = batcher.image(seed=42)
        batch = batcher.sample(seed=42)
    assert image.shape == (32, 32, 3) and batch.shape == (1, 32, 32, 3)
    np.testing.assert_array_equal(image, g.sample(1, seed=42)[0])
    np.testing.assert_array_equal(batch, g.sample(1, seed=42))


@pytest.mark.parametrize("max_queue", [1024, 2**62])
def test_a_request_that_could_never_fit_in_memory_fails_before_allocating(g, max_queue):
    # 2**40 images of 3x32x32 = 3 PiB; before this was checked, the seeds alone (8 TiB) raised MemoryError.
    with sdk.Batcher(g, max_queue=max_queue) as batcher:
        with pytest.raises(BadInputError) as refused:
            batcher.submit(0, n=2**40)
        assert batcher.stats().requests == 0
    message = str(refused.value).replace(",", "")  # the size in bytes, however it is grouped
    assert f"{2**40 * 3 * 32 * 32} bytes" in message and "stream(" in message


def test_a_cancelled_request_leaves_the_queue_at_once_and_is_never_rendered(g):
    with sdk.Batcher(g, max_batch=64, max_delay_ms=60_000, max_queue=3) as batcher:  # a lone request waits
        first, second = batcher.submit(0), batcher.submit(1, n=2)
        with pytest.raises(QueueFullError):
            batcher.submit(5)
        assert second.cancel()  # not the head of the queue: found and taken out all the same
        third = batcher.submit(5)  # the cancelled request's place is free again
        stats = batcher.stats()
        assert stats.cancelled == 1 and stats.batches == 0
    np.testing.assert_array_equal(first.result(30), g.sample(1, seed=0))  # close() ran the others
    np.testing.assert_array_equal(third.result(30), g.sample(1, seed=5))
    assert batcher.stats().batches == 1 and batcher.stats().max_batch_seen == 2 and second.cancelled()


def test_a_lone_request_above_max_batch_runs_in_chunks_of_max_batch(g):
    with sdk.Batcher(g, max_batch=4, max_delay_ms=0) as batcher:
        images = batcher.sample(100, n=10, timeout=60)
        stats = batcher.stats()
    np.testing.assert_array_equal(images, g.sample(10, seed=100))
    assert stats.batches == 3 and stats.max_batch_seen == 4
