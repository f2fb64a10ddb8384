"""GAN objectives and gradient penalties. Logits in, scalar losses out.

=========  ===========================================  ==============================
loss       D minimises                                  G minimises
=========  ===========================================  ==============================
minimax    -log D(x) - log(1 - D(G(z)))                 log(1 - D(G(z)))   (Goodfellow)
ns         same as minimax                              -log D(G(z))       (non-saturating)
lsgan      ((D(x) - 1)^2 + D(G(z))^2) / 2               (D(G(z)) - 1)^2 / 2
hinge      relu(1 - D(x)) + relu(1 + D(G(z)))           -D(G(z))
wgan-gp    D(G(z)) - D(x) + gp                          -D(G(z))
=========  ===========================================  ==============================
D(.) is the sigmoid of the logit for minimax/ns and the raw score otherwise.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    if kind in ("minimax", "ns"):
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if kind == "lsgan":
        return 0.5 * ((real - 1).square().mean() + fake.square().mean())
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    if kind == "wgan-gp":
        return fake.mean() - real.mean()
    raise AssertionError(f"unknown loss {kind}")  # TrainConfig validated it


def g_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    if kind == "minimax":
        return -F.softplus(fake).mean()  # log(1 - sigmoid(f)) = -softplus(f)
    if kind == "ns":
        return F.softplus(-fake).mean()
    if kind == "lsgan":
        return 0.5 * (fake - 1).square().mean()
    if kind in ("hinge", "wgan-gp"):
        return -fake.mean()
    raise AssertionError(f"unknown loss {kind}")


def grad_norm_sq(scores: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """Per-sample squared norm of d(scores)/d(inputs), differentiable (for R1 and the gradient penalty).

    Differentiates with respect to the *inputs* only, so under DDP no parameter gradient hook
    fires here; the parameter gradients of the penalty arrive with the one ``backward()``.
    """
    (grad,) = torch.autograd.grad(scores.sum(), inputs, create_graph=True)
    return grad.square().flatten(1).sum(1)  # (N,)


def r1_penalty(real_scores: torch.Tensor, real_inputs: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): E ||grad D(x)||^2 on real data; the caller multiplies by gamma / 2."""
    return grad_norm_sq(real_scores, real_inputs).mean()


def gradient_penalty(interp_scores: torch.Tensor, interp_inputs: torch.Tensor) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E (||grad D(x_hat)|| - 1)^2 on real/fake interpolates."""
    norms = (grad_norm_sq(interp_scores, interp_inputs) + 1e-12).sqrt()
    return (norms - 1).square().mean()
