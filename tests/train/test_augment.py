"""DiffAugment: each transform does what it says, is differentiable, and is keyed by its generator."""

from __future__ import annotations

import torch

from ganedge.train.augment import color, cutout, diff_augment, translation


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_translation_is_an_integer_shift_with_zero_fill():
    x = torch.arange(2 * 3 * 16 * 16, dtype=torch.float32).view(2, 3, 16, 16) + 1  # no zeros in the input
    y = translation(x, _gen(3))
    for i in range(2):
        matches = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                expected = torch.zeros_like(x[i])
                src = x[i][:, max(dy, 0):16 + min(dy, 0), max(dx, 0):16 + min(dx, 0)]
                expected[:, max(-dy, 0):16 + min(-dy, 0), max(-dx, 0):16 + min(-dx, 0)] = src
                matches.append(torch.equal(y[i], expected))
        assert sum(matches) == 1, f"image {i} is not one shift of the input"


def test_cutout_zeroes_one_rectangle_of_at_most_a_quarter():
    x = torch.ones(64, 3, 16, 16)
    y = cutout(x, _gen(1))
    assert torch.equal(y[:, 0], y[:, 1])  # same hole in every channel
    holes = y[:, 0] == 0
    areas = holes.flatten(1).sum(1)
    assert areas.max() <= 64 and areas.min() >= 1  # 8x8 hole, possibly clipped at the border
    for hole in holes:
        rows, cols = hole.any(1).nonzero().flatten(), hole.any(0).nonzero().flatten()
        assert hole[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()  # a filled rectangle
    assert (areas == 64).float().mean() > 0.2  # most holes lie fully inside


def test_color_changes_pixels_per_image():
    x = torch.rand(8, 3, 16, 16) * 2 - 1
    y = color(x, _gen(2))
    assert y.shape == x.shape and not torch.allclose(x, y)


def test_diffaugment_is_differentiable_and_keyed_by_generator():
    policy = ("color", "translation", "cutout")
    x = (torch.rand(4, 3, 16, 16) * 2 - 1).requires_grad_(True)
    a = diff_augment(x, policy, _gen(7))
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert torch.equal(a, diff_augment(x, policy, _gen(7)))
    assert not torch.equal(a, diff_augment(x, policy, _gen(8)))
