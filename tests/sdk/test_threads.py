"""A Generator shared by many threads gives each exactly what one thread gets."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ganedge import sdk
from ganedge.errors import ClosedError


def test_eight_threads_sampling_different_seeds_match_one_thread(models):
    with sdk.load(models["dcgan"]) as g:
        jobs = [(seed, n, bs) for seed, n, bs in zip(range(0, 800, 100), (1, 3, 8, 5, 2, 7, 4, 6), (1, 2, 8, 3, 1, 4, 2, 6))]
        expected = {job: g.sample(job[1], seed=job[0]) for job in jobs}
        barrier = threading.Barrier(len(jobs))

        def work(job):
            barrier.wait()  # all eight start together, so their runs really overlap
            return [g.sample(job[1], seed=job[0], batch_size=job[2]) for _ in range(3)]

        with ThreadPoolExecutor(len(jobs)) as pool:
            results = dict(zip(jobs, pool.map(work, jobs)))
        for job, repeats in results.items():
            for images in repeats:
                np.testing.assert_array_equal(images, expected[job])


def test_close_waits_for_running_calls(models):
    g = sdk.load(models["dcgan"])
    started, results, errors = threading.Event(), [], []

    def long_stream():
        try:
            for i, batch in enumerate(g.stream(40, batch_size=4)):
                if i == 0:
                    started.set()
                results.append(batch)
                time.sleep(0.05)  # a consumer slower than the close below, even on a starved machine
        except ClosedError as exc:
            errors.append(exc)

    worker = threading.Thread(target=long_stream)
    worker.start()
    started.wait(30)
    g.close()  # waits for the running batch; the stream's next batch raises ClosedError
    worker.join(30)
    assert not worker.is_alive()
    assert 1 <= len(results) < 10 and len(errors) == 1
