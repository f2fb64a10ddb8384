"""DistributedDataParallel on CPU (gloo): two real processes end with identical G weights; rank 0 writes the run."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import torch.multiprocessing as mp

from ganedge.artifacts.run_dir import METRICS_FILE, WEIGHTS_FILE, load_weights, read_config
from ganedge.train.loop import module_digest
from ganedge.models import build_generator
from tests.train.helpers import TINY_ARGS


def _worker(rank: int, world_size: int, init_method: str, run_dir: str, out_dir: str) -> None:
    from ganedge.data import load_dataset
    from ganedge.train.distributed import init, shutdown
    from ganedge.train.loop import train
    from tests.train.helpers import tiny_config

    ctx = init(rank, world_size, init_method)
    try:
        # R1 (an input-gradient penalty) and DiffAugment on: they must not upset DDP's gradient sync.
        config = tiny_config("resnet", r1_gamma=1.0, r1_every=2, diffaugment="translation,color", steps=4)
        result = train(config, run_dir, dataset=load_dataset("scenes", image_size=16), quiet=True, threads=1,
                       dist_ctx=ctx)
        with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as handle:
            json.dump(result.to_dict(), handle)
    finally:
        shutdown(ctx)


def _torchrun_style_worker(rank: int, world_size: int, port: int, run_dir: str, out_dir: str) -> None:
    """A rank as torchrun starts it: the process group comes from the environment, made by train() itself."""
    import torch.distributed as dist

    from ganedge.data import load_dataset
    from ganedge.train.loop import train
    from tests.train.helpers import tiny_config

    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size),
                      LOCAL_WORLD_SIZE=str(world_size), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    result = train(tiny_config("dcgan", steps=2), run_dir, dataset=load_dataset("scenes", image_size=16), quiet=True,
                   threads=1)
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as handle:
        json.dump({"world_size": result.world_size, "group_left": dist.is_initialized()}, handle)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _digest_of_saved_generator(run_dir):
    generator = build_generator(read_config(run_dir).model)
    generator.load_state_dict(load_weights(run_dir / WEIGHTS_FILE)[0]["G"])
    return module_digest(generator)


def test_two_spawned_ranks_end_with_identical_generators(tmp_path):
    run = tmp_path / "run"
    mp.spawn(_worker, args=(2, f"file://{tmp_path / 'rendezvous'}", str(run), str(tmp_path)), nprocs=2, join=True)
    results = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in results] == [2, 2]
    # Each rank hashed its own G; the ranks trained on different data, so only synchronised
    # gradients can make the hashes agree.
    assert results[0]["rank_digests"] == results[1]["rank_digests"]
    assert len(set(results[0]["rank_digests"])) == 1
    assert results[0]["g_digest"] == _digest_of_saved_generator(run)
    assert [json.loads(line)["step"] for line in (run / METRICS_FILE).read_text().splitlines()] == [1, 2, 3, 4]


def test_torchrun_launches_ddp_training_through_the_cli(tmp_path):
    run = tmp_path / "run"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                             "-m", "ganedge", "train", *TINY_ARGS, "--steps", "6", "--json", "-o", str(run)],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])  # rank 0 alone prints
    assert len(result.stdout.strip().splitlines()) == 1
    assert summary["world_size"] == 2 and summary["step"] == 6
    assert len(summary["rank_digests"]) == 2 and len(set(summary["rank_digests"])) == 1
    assert summary["estimate"]["timed_steps"] == 3  # both ranks ran the rolled-back warm-up in step
    assert result.stderr.count("estimate: ") == 1  # printed by rank 0 alone
    assert summary["g_digest"] == _digest_of_saved_generator(run)


def test_train_destroys_the_process_group_it_made(tmp_path):
    # Left alive to interpreter exit, one rank's teardown could abort its peer after a correct run (SIGABRT,
    # "terminate called without an active exception"): train() tears down the group it made, every rank together.
    mp.spawn(_torchrun_style_worker, args=(2, _free_port(), str(tmp_path / "run"), str(tmp_path)), nprocs=2, join=True)
    results = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert results == [{"world_size": 2, "group_left": False}] * 2
