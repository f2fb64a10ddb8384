"""A real run directory holding freshly initialised networks: for tests, benchmarks and demos.

Speed does not depend on what the weights learned, and export, the SDK and the bench need a
model of the right shapes, not a trained one. :func:`write_random_run` writes the files
``ganedge train`` writes (``config.json``, ``weights.safetensors`` with G, G_ema and D,
``state.json``) through the same pieces (RunConfig, the model registry, save_weights), so
everything downstream reads it as it reads a trained run.

A fresh generator differs from a trained one in two ways that would make tests blind, and both
are corrected here: its BatchNorm layers have never seen data (``bn_batches`` train-mode passes
give them the running statistics a trained model has), and its images are nearly flat grey
(``gain`` scales the last layer's pre-activation, so images span the output range and
saturate, and rounding to uint8 or a precision's error is visible). ``ema_noise`` makes the raw
G a visibly different model from G_ema, so which of the two a consumer loads is observable.
Deterministic: the same arguments write the same tensors.
"""

from __future__ import annotations

import copy
from pathlib import Path

from ganedge.artifacts.run_config import ModelConfig, RunConfig
from ganedge.artifacts.run_dir import CONFIG_FILE, STATE_FILE, WEIGHTS_FILE, save_weights, write_state
from ganedge.errors import BadInputError
from ganedge.fsutil import write_text_atomic
from ganedge.models import build_discriminator, build_generator

BN_BATCH = 32  # latents per BatchNorm warm-up pass


def write_random_run(path: str | Path, arch: str = "dcgan", image_size: int = 32, latent_dim: int = 128,
                     num_classes: int = 0, width: int | None = None, seed: int = 0, *, channels: int = 3,
                     dataset: str = "scenes", gain: float = 1.0, ema_noise: float = 0.0, step: int = 0,
                     bn_batches: int = 3) -> Path:
    """Write a run directory of randomly initialised networks at ``path`` (created; must hold no run yet).

    ``width`` is both networks' base width (None: the architecture's default); ``step`` is the
    training step the files record. Returns ``path``.
    """
    import torch

    run = Path(path)
    if (run / CONFIG_FILE).exists():
        raise BadInputError(f"{run} already holds a run directory; choose an empty folder")
    model = ModelConfig(arch=arch, latent_dim=latent_dim, image_shape=(channels, image_size, image_size),
                        num_classes=num_classes, g_width=width, d_width=width)
    config = RunConfig(model=model, dataset=dataset)
    torch.manual_seed(seed)
    g_ema, d = build_generator(model), build_discriminator(model)
    with torch.no_grad():
        g_ema.train()
        for _ in range(bn_batches):
            z = torch.randn(BN_BATCH, latent_dim)
            labels = torch.randint(0, num_classes, (BN_BATCH,)) if num_classes else None
            g_ema(z, labels)
        g_ema.eval()
        if gain != 1.0:
            _scale_last_layer(torch, g_ema, gain)
        # safetensors refuses two names for one tensor's memory: G always gets its own copy.
        g = copy.deepcopy(g_ema)
        if ema_noise:
            for p in g.parameters():
                p.add_(ema_noise * torch.randn_like(p))
    run.mkdir(parents=True, exist_ok=True)
    write_text_atomic(run / CONFIG_FILE, config.to_json())
    save_weights(run / WEIGHTS_FILE, {"G": g, "G_ema": g_ema, "D": d}, metadata={"step": step})
    write_state(run / STATE_FILE, {"step": step})
    return run


def _scale_last_layer(torch, generator, gain: float) -> None:
    """Multiply the last weighted layer's output (weight and bias) by ``gain``."""
    nn = torch.nn
    layers = [m for m in generator.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    if not layers:
        raise BadInputError(f"{type(generator).__name__} has no Conv/Linear layer to scale")
    last = layers[-1]
    last.weight.mul_(gain)
    if last.bias is not None:
        last.bias.mul_(gain)

