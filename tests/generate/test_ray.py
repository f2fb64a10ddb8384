"""The shard plan on a real local Ray instance (2 CPUs, no dashboard): the same bytes as local
workers, and an actor SIGKILLed while it writes a shard is replaced with every seed still
written exactly once. One Ray start for the module (~5 s); the tests share it."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.generate.conftest import all_images_on_disk, writer_pids, written_seeds


@pytest.fixture(scope="module")
def ray_instance():
    ray = pytest.importorskip("ray", reason="Ray is in the dev extra: pip install -e '.[dev]'")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage-stats prompt or upload attempt
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             object_store_memory=100 * 2**20)
    yield ray
    ray.shutdown()


def shard_shas(out: Path) -> list[str]:
    return [s["sha256"] for s in json.loads((out / "index.json").read_text())["shards"]]


def test_ray_actors_write_the_same_shards_as_local_workers(cli, ray_instance, cond_onnx, tmp_path):
    common = ["--count", 30, "--shard-size", 7, "--labels", "balanced", "--json"]
    local = cli("generate", cond_onnx, "-o", tmp_path / "local", "--workers", 1, *common)
    on_ray = cli("generate", cond_onnx, "-o", tmp_path / "ray", "--ray", "auto", *common)
    assert local.code == 0 and on_ray.code == 0, on_ray
    assert shard_shas(tmp_path / "ray") == shard_shas(tmp_path / "local")
    report = on_ray.json()
    assert report["executor"] == "ray" and report["workers"] == 2 and report["threads_per_worker"] == 1
    stats = report["worker_stats"]
    # Two actors serve the queue; which of them takes how many shards is the scheduler's business (on a busy
    # machine one may take all five before the other has started), but no shard ever runs in this process.
    assert 1 <= len({s["pid"] for s in stats}) <= 2 and os.getpid() not in {s["pid"] for s in stats}
    assert sum(s["images"] for s in stats) == 30 and not any(s["torch_imported"] for s in stats)


def test_an_actor_killed_mid_shard_is_replaced_and_every_seed_is_written_once(ray_instance, uncond_onnx, tmp_path):
    from ganedge.generate import GenerateOptions, generate

    out = tmp_path / "out"
    options = GenerateOptions(model=uncond_onnx, out=out, count=1600, shard_size=200, batch_size=8, ray="auto")
    result: dict = {}
    runner = threading.Thread(target=lambda: result.update(generate(options, progress=False, say=lambda _: None)))
    runner.start()
    victim, deadline = None, time.monotonic() + 120
    while victim is None and runner.is_alive() and time.monotonic() < deadline:
        victim = next(iter(writer_pids(out)), None)  # an actor writing a shard right now
        time.sleep(0.002)
    assert victim is not None, "no shard was ever seen mid-write"
    os.kill(victim, signal.SIGKILL)
    runner.join(300)
    assert not runner.is_alive() and result, "the run did not finish"
    assert result["workers_lost"] == 1 and result["images_rendered"] == 1600
    assert sorted(written_seeds(out)) == list(range(1600))
    assert sorted(all_images_on_disk(out, "webdataset")) == list(range(1600))
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_an_actor_that_cannot_see_the_output_says_which_node(uncond_onnx, tmp_path):
    from ganedge.generate.ray_runner import ShardActor

    from ganedge.generate.labels import LabelPlan
    from ganedge.generate.plan import Plan, model_sha256
    from ganedge.generate.render import WorkerSpec

    plan = Plan(model=str(uncond_onnx), model_sha256=model_sha256(uncond_onnx), manifest={
        "format": "ganedge/1", "arch": "dcgan", "latent_dim": 32, "image_shape": [3, 16, 16]}, count=4, seed=0,
        shard_size=4, truncation=1.0, format="npz", labels=LabelPlan("none", 0, ()))
    actor = ShardActor(WorkerSpec(model=str(uncond_onnx), out=str(tmp_path), plan=plan.to_dict(), batch_size=4,
                                  threads=1).to_dict())  # the class body, run here: no plan.json in tmp_path
    kind, (name, message, code) = actor.render(0)
    assert kind == "error" and code == 2 and "does not see this run's" in message and "shared filesystem" in message
