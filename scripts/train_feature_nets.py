"""Train the feature nets that ``ganedge.metrics`` uses for FD/KID/precision/recall offline.

    python scripts/train_feature_nets.py                 # both nets -> ganedge/metrics/weights/
    python scripts/train_feature_nets.py --net digits --steps 300 --out /tmp/nets

Deterministic on CPU for a given --seed and --threads (torch.use_deterministic_algorithms;
thread count changes the order of float reductions). Each net is a classifier of what the
images show, trained under generator-artifact augmentations (ganedge.metrics.augment):
  scenes-v1: object count, shapes present, colours present; scenes at 16/32/64 px, with the
             default options and variants (all four shapes, flat backgrounds, wider sizes).
  digits-v1: the digit; sklearn digits at 16 px, 80% train / 20% held out for accuracy.
Writes <name>.safetensors and <name>.json (architecture, data, steps, time, accuracy, sha256).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganedge.data import load_dataset
from ganedge.data.scenes import DEFAULT_PALETTE, SHAPES
from ganedge.fsutil import atomic_path, write_text_atomic
from ganedge.images import to_float, to_uint8_nhwc
from ganedge.artifacts.manifest import sha256_file
from ganedge.metrics import augment
from ganedge.metrics.feature_net import WEIGHTS_DIR, FeatureNet, FeatureNetConfig, prepare

SCENES_INPUT = 32
# (probability, render size, options): the default scenes dominate; variants widen what the net has seen.
SCENES_MIX = [
    (0.45, 32, {}),
    (0.20, 32, {"shapes": list(SHAPES)}),
    (0.10, 32, {"background": "flat", "object_scale": [0.2, 0.6]}),
    (0.125, 16, {}),
    (0.125, 64, {"shapes": list(SHAPES)}),
]
BATCH = 64
WIDTHS = (24, 48, 96)  # 96-d features; ~17M MACs per 32x32 image keeps CPU training to minutes
TRAIN_SEED_BASE = 10_000  # training scenes never use the dataset seeds evaluation defaults to (0)


def _scenes_batch(n: int, rng: np.random.Generator, mix_index: int, seed: int):
    _, size, options = SCENES_MIX[mix_index]
    ds = load_dataset("scenes", image_size=size, seed=TRAIN_SEED_BASE + seed * 10 + mix_index, **options)
    idx = rng.integers(0, len(ds), n)
    images, count_minus_one = ds.take(idx)
    lay = ds.layout(idx)
    shapes = np.zeros((n, len(SHAPES)), np.float32)
    colours = np.zeros((n, len(DEFAULT_PALETTE)), np.float32)
    palette = np.array([[int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)] for c in DEFAULT_PALETTE])
    for k in range(ds.config.max_objects):
        on = lay.present[:, k]
        global_shape = np.array([SHAPES.index(s) for s in ds.config.shapes])[lay.shape[:, k]]
        shapes[on, global_shape[on]] = 1
        nearest = np.abs(lay.colour[:, k, None, :] - palette[None]).sum(-1).argmin(1)
        colours[on, nearest[on]] = 1
    # As the evaluator sees images: quantized to uint8, then resized to the net's input.
    x = torch.from_numpy(to_float(to_uint8_nhwc(images)))
    x = prepare(x, 3, SCENES_INPUT)
    targets = {"count": torch.from_numpy(count_minus_one), "shapes": torch.from_numpy(shapes),
               "colours": torch.from_numpy(colours)}
    return x, targets


def _losses(outputs, targets):
    total = 0.0
    for name, logits in outputs.items():
        target = targets[name]
        if target.dtype == torch.int64:
            total = total + F.cross_entropy(logits, target)
        else:
            total = total + F.binary_cross_entropy_with_logits(logits, target)
    return total


def _accuracy(outputs, targets) -> dict[str, float]:
    acc = {}
    for name, logits in outputs.items():
        target = targets[name]
        if target.dtype == torch.int64:
            acc[name] = round(float((logits.argmax(1) == target).float().mean()), 4)
        else:  # multi-label: the whole row must be right
            acc[name] = round(float(((logits > 0).float() == target).all(1).float().mean()), 4)
    return acc


def _train(net, batches, steps: int, lr: float, gen: torch.Generator, geometric: bool, log) -> float:
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    net.train()
    start = time.perf_counter()
    for step in range(steps):
        x, targets = batches(step)
        x = augment.artifacts(x, gen, geometric=geometric)
        loss = _losses(net(x), targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"  step {step:5d}/{steps}  loss {loss.item():.4f}  {time.perf_counter() - start:6.1f}s")
    net.eval()
    return time.perf_counter() - start


@torch.no_grad()
def _evaluate(net, x, targets, gen, geometric: bool) -> dict[str, dict[str, float]]:
    net.eval()
    clean = _accuracy(net(x), targets)
    noisy = _accuracy(net(augment.artifacts(x.clone(), gen, geometric=geometric)), targets)
    return {"clean": clean, "augmented": noisy}


def _save(net: FeatureNet, out: Path, training: dict) -> Path:
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    weights = out / f"{net.config.name}.safetensors"
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    with atomic_path(weights) as tmp:
        save_file(state, str(tmp), metadata={"name": net.config.name})
    meta = FeatureNetConfig(**{**net.config.__dict__, "training": training}).to_dict()
    meta["sha256"] = sha256_file(weights)
    write_text_atomic(weights.with_suffix(".json"), json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return weights


def train_scenes(steps: int, seed: int, out: Path, log) -> Path:
    config = FeatureNetConfig(name="scenes-v1", dataset="scenes", input_size=SCENES_INPUT, in_channels=3,
                              widths=WIDTHS,
                              heads=(("count", 4), ("shapes", len(SHAPES)), ("colours", len(DEFAULT_PALETTE))),
                              fits={"shapes": list(SHAPES), "max_objects": 4})
    torch.manual_seed(seed)
    net = FeatureNet(config)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    probs = np.array([p for p, _, _ in SCENES_MIX])

    def batches(step):
        return _scenes_batch(BATCH, rng, int(rng.choice(len(SCENES_MIX), p=probs / probs.sum())), seed)

    seconds = _train(net, batches, steps, lr=3e-3, gen=gen, geometric=False, log=log)
    val_rng = np.random.default_rng(seed + 1)
    x, targets = _scenes_batch(2000, val_rng, 0, seed + 1)  # default scenes, unseen seed
    acc = _evaluate(net, x, targets, gen, geometric=False)
    log(f"  scenes-v1 accuracy on 2000 held-out default scenes: {json.dumps(acc)}")
    training = {"data": [{"p": p, "image_size": s, "options": o} for p, s, o in SCENES_MIX],
                "steps": steps, "batch_size": BATCH, "seed": seed, "seconds": round(seconds, 1),
                "threads": torch.get_num_threads(), "augmentations": "ganedge.metrics.augment.artifacts",
                "accuracy": acc, "accuracy_note": "multi-label heads: whole row exact"}
    return _save(net, out, training)


def train_digits(steps: int, seed: int, out: Path, log) -> Path:
    size = 16
    config = FeatureNetConfig(name="digits-v1", dataset="digits", input_size=size, in_channels=1,
                              widths=WIDTHS, heads=(("digit", 10),))
    ds = load_dataset("digits", image_size=size)
    images, labels = ds.take(np.arange(len(ds)))
    order = np.random.default_rng(seed).permutation(len(ds))
    cut = int(0.8 * len(ds))
    train_idx, val_idx = order[:cut], order[cut:]
    x_all, y_all = torch.from_numpy(images), torch.from_numpy(labels)
    torch.manual_seed(seed)
    net = FeatureNet(config)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)

    def batches(step):
        pick = torch.from_numpy(train_idx[rng.integers(0, cut, BATCH)])
        return x_all[pick], {"digit": y_all[pick]}

    seconds = _train(net, batches, steps, lr=3e-3, gen=gen, geometric=True, log=log)
    val = torch.from_numpy(val_idx)
    acc = _evaluate(net, x_all[val], {"digit": y_all[val]}, gen, geometric=True)
    log(f"  digits-v1 accuracy on {len(val_idx)} held-out digits: {json.dumps(acc)}")
    training = {"data": {"dataset": "digits", "image_size": size, "train_items": cut, "held_out": len(val_idx)},
                "steps": steps, "batch_size": BATCH, "seed": seed, "seconds": round(seconds, 1),
                "threads": torch.get_num_threads(), "augmentations": "ganedge.metrics.augment.artifacts(geometric=True)",
                "accuracy": acc}
    return _save(net, out, training)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--net", choices=["scenes", "digits", "all"], default="all")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: scenes 1200, digits 800)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads; results are reproducible for a fixed count")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if args.net in ("scenes", "all"):
        log("training scenes-v1")
        log(f"  wrote {train_scenes(args.steps or 1200, args.seed, args.out, log)}")
    if args.net in ("digits", "all"):
        log("training digits-v1")
        log(f"  wrote {train_digits(args.steps or 800, args.seed, args.out, log)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
