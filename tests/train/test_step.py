"""One training step for every loss x architecture, conditioning, penalties and EMA, on real scenes batches."""

from __future__ import annotations

import math

import pytest
import torch

from ganedge.errors import NumericalError
from ganedge.train.batches import BatchStream
from ganedge.artifacts.run_config import LOSSES
from ganedge.train.losses import d_loss, g_loss
from ganedge.train.rng import torch_generator
from ganedge.train.step import GanModels
from tests.train.helpers import tiny_config


def _params(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _changed(before, module):
    after = module.state_dict()
    return any(not torch.equal(before[k], after[k]) for k in before if before[k].is_floating_point())


def _run(models, dataset, steps, batch_size=8):
    stream = BatchStream(dataset, batch_size, models.config.train.d_steps, 4, seed=0)
    metrics = []
    for step in range(steps):
        batches = [stream.get(step, i) for i in range(models.config.train.d_steps)]
        metrics.append(models.train_step(step, batches, torch_generator(0, 0, step)))
    return metrics


@pytest.mark.parametrize("arch", ["mlp", "dcgan", "resnet"])
@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_and_arch_trains(arch, loss, scenes16):
    models = GanModels(tiny_config(arch, loss, diffaugment="color,translation,cutout"))
    before = {name: _params(m) for name, m in models.modules.items()}
    metrics = _run(models, scenes16, steps=2)
    for record in metrics:
        assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(record)
        assert all(math.isfinite(v) for v in record.values()), record
    if loss == "wgan-gp":
        assert all("gp" in m for m in metrics)
    for name, module in models.modules.items():
        assert _changed(before[name], module), f"{name} did not change"


def test_conditional_training_uses_labels(scenes16):
    models = GanModels(tiny_config("dcgan", num_classes=scenes16.num_classes))
    embed_before = models.D.head.embed.parametrizations.weight.original.detach().clone()
    g_embed_before = models.G.cond.embed.weight.detach().clone()
    metrics = _run(models, scenes16, steps=2)
    assert all(math.isfinite(v) for m in metrics for v in m.values())
    assert not torch.equal(models.D.head.embed.parametrizations.weight.original, embed_before)
    assert not torch.equal(models.G.cond.embed.weight, g_embed_before)


def test_lazy_r1_runs_on_its_schedule(scenes16):
    models = GanModels(tiny_config("dcgan", r1_gamma=1.0, r1_every=3))
    metrics = _run(models, scenes16, steps=7)
    assert [("r1" in m) for m in metrics] == [True, False, False, True, False, False, True]
    assert all(m["r1"] >= 0 for m in metrics if "r1" in m)


def test_d_steps_updates_d_more_often(scenes16):
    models = GanModels(tiny_config("mlp", d_steps=3))
    counts = []
    original = models.opt_D.step

    def counting_step(*args, **kwargs):
        counts.append(1)
        return original(*args, **kwargs)

    models.opt_D.step = counting_step
    _run(models, scenes16, steps=2)
    assert len(counts) == 6


def test_ema_tracks_generator_and_copies_before_start(scenes16):
    models = GanModels(tiny_config("dcgan", ema_decay=0.9, ema_start=2))
    _run(models, scenes16, steps=2)  # steps 0 and 1 are before ema_start: G_ema is a copy
    for p_ema, p in zip(models.G_ema.parameters(), models.G.parameters()):
        assert torch.equal(p_ema, p)
    _run(models, scenes16, steps=3)  # steps 0..2 again (fresh data keys don't matter here); step 2 averages
    assert any(not torch.equal(a, b) for a, b in zip(models.G_ema.parameters(), models.G.parameters()))
    assert not models.G_ema.training and not any(p.requires_grad for p in models.G_ema.parameters())


def test_no_ema_keeps_copy(scenes16):
    models = GanModels(tiny_config("mlp", ema_decay=0.0))
    _run(models, scenes16, steps=2)
    for p_ema, p in zip(models.G_ema.parameters(), models.G.parameters()):
        assert torch.equal(p_ema, p)


def test_steps_are_reproducible_from_seed(scenes16):
    a, b = GanModels(tiny_config("resnet", r1_gamma=0.5, r1_every=2)), GanModels(tiny_config("resnet", r1_gamma=0.5, r1_every=2))
    assert _run(a, scenes16, 3) == _run(b, scenes16, 3)
    for (name, x), y in zip(a.G.state_dict().items(), b.G.state_dict().values()):
        assert torch.equal(x, y), name


def test_diverged_loss_raises_numerical_error(scenes16):
    models = GanModels(tiny_config("mlp"))
    with torch.no_grad():
        next(models.D.parameters()).fill_(float("nan"))
    with pytest.raises(NumericalError, match="diverged"):
        _run(models, scenes16, steps=1)


@pytest.mark.parametrize("loss", LOSSES)
def test_losses_match_their_definitions(loss):
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    sig = torch.sigmoid
    expected_d = {
        "minimax": -(torch.log(sig(real)).mean() + torch.log(1 - sig(fake)).mean()),
        "ns": -(torch.log(sig(real)).mean() + torch.log(1 - sig(fake)).mean()),
        "lsgan": 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean(),
        "hinge": torch.relu(1 - real).mean() + torch.relu(1 + fake).mean(),
        "wgan-gp": fake.mean() - real.mean(),
    }[loss]
    expected_g = {
        "minimax": torch.log(1 - sig(fake)).mean(),
        "ns": -torch.log(sig(fake)).mean(),
        "lsgan": 0.5 * ((fake - 1) ** 2).mean(),
        "hinge": -fake.mean(),
        "wgan-gp": -fake.mean(),
    }[loss]
    torch.testing.assert_close(d_loss(loss, real, fake), expected_d)
    torch.testing.assert_close(g_loss(loss, fake), expected_g)
