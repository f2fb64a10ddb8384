"""The networks of a run and one training step: ``d_steps`` D updates, one G update, one EMA update.

DDP notes. G and D are wrapped separately. The D update runs *one* forward of the wrapped D on
real, fake (and, for wgan-gp, interpolated) images concatenated, then one ``backward()``:
DDP allows one forward per backward, and the penalties differentiate with respect to the
inputs only (see ``losses.grad_norm_sq``). The G update calls the *unwrapped* D with its
parameters frozen, so only G's gradients are all-reduced. G's BatchNorm buffers are
broadcast from rank 0 at each wrapped forward; :meth:`GanModels.sync_buffers` does it once
more before anything is saved.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

import torch

from ganedge.errors import NumericalError
from ganedge.train.augment import diff_augment
from ganedge.artifacts.run_config import RunConfig
from ganedge.train.losses import d_loss, g_loss, gradient_penalty, r1_penalty
from ganedge.models import build_discriminator, build_generator


class GanModels:
    def __init__(self, config: RunConfig, device: Any = "cpu", ddp: bool = False):
        self.config = config
        self.device = torch.device(device)
        t = config.train
        torch.manual_seed(t.seed)  # same initial weights on every rank and every run with this seed
        # channels_last: oneDNN's faster layout for these small convs on CPU (10-20% per step measured).
        conv = config.model.arch != "mlp" and self.device.type == "cpu"
        self.memory_format = torch.channels_last if conv else torch.contiguous_format
        self.G = build_generator(config.model).to(self.device, memory_format=self.memory_format)
        self.D = build_discriminator(config.model).to(self.device, memory_format=self.memory_format)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=t.lr_g, betas=t.betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=t.lr_d, betas=t.betas)
        self.G_train, self.D_train = self.G, self.D
        if ddp:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            # D's only buffers are spectral-norm vectors, identical on every rank: no need to sync them each forward.
            no_sync = ({"forward_sync_buffers": False} if "forward_sync_buffers" in inspect.signature(DDP).parameters
                       else {"broadcast_buffers": False})
            self.G_train = DDP(self.G, device_ids=ids, gradient_as_bucket_view=True)
            self.D_train = DDP(self.D, device_ids=ids, gradient_as_bucket_view=True, **no_sync)
        self.policy = t.augment_policy
        self.num_classes = config.model.num_classes

    @property
    def modules(self) -> dict[str, torch.nn.Module]:
        return {"G": self.G, "G_ema": self.G_ema, "D": self.D}

    @property
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"opt_G": self.opt_G, "opt_D": self.opt_D}

    def load_state(self, groups: dict[str, dict[str, torch.Tensor]]) -> None:
        for name, module in self.modules.items():
            module.load_state_dict(groups[name])

    def _augment(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return diff_augment(x, self.policy, generator) if self.policy else x

    def _fake_labels(self, n: int, generator: torch.Generator) -> torch.Tensor | None:
        if not self.num_classes:
            return None
        return torch.randint(0, self.num_classes, (n,), generator=generator, device=self.device)

    def _latents(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randn(n, self.config.model.latent_dim, generator=generator, device=self.device)

    def d_update(self, real: torch.Tensor, labels: torch.Tensor, generator: torch.Generator,
                 d_update_index: int) -> dict[str, float]:
        t = self.config.train
        n = real.shape[0]
        cond = self.num_classes > 0
        fake_labels = self._fake_labels(n, generator)
        with torch.no_grad():
            fake = self.G(self._latents(n, generator), fake_labels)  # (N, C, H, W), G in train mode
        do_r1 = t.r1_gamma > 0 and d_update_index % t.r1_every == 0
        real = real.detach().contiguous(memory_format=self.memory_format).requires_grad_(do_r1)
        parts, part_labels = [real, fake], [labels, fake_labels]
        if t.loss == "wgan-gp":
            alpha = torch.rand(n, 1, 1, 1, generator=generator, device=self.device)
            parts.append((alpha * real.detach() + (1 - alpha) * fake).requires_grad_(True))
            part_labels.append(labels)
        images = self._augment(torch.cat(parts), generator)  # (k*N, C, H, W)
        scores = self.D_train(images, torch.cat(part_labels) if cond else None)  # (k*N,)
        real_scores, fake_scores = scores[:n], scores[n : 2 * n]
        loss = d_loss(t.loss, real_scores, fake_scores)
        metrics = {"d_loss": _f(loss), "d_real": _f(real_scores.mean()), "d_fake": _f(fake_scores.mean())}
        if do_r1:
            r1 = r1_penalty(real_scores, real)
            loss = loss + (t.r1_gamma / 2) * t.r1_every * r1  # lazy: scaled by the interval (StyleGAN2)
            metrics["r1"] = _f(r1)
        if t.loss == "wgan-gp":
            gp = gradient_penalty(scores[2 * n :], parts[2])
            loss = loss + t.gp_weight * gp
            metrics["gp"] = _f(gp)
        self._check_finite(loss, "D")
        self.opt_D.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_D.step()
        return metrics

    def g_update(self, batch_size: int, generator: torch.Generator) -> dict[str, float]:
        t = self.config.train
        labels = self._fake_labels(batch_size, generator)
        self.D.requires_grad_(False)
        try:
            fake = self.G_train(self._latents(batch_size, generator), labels)  # (N, C, H, W)
            loss = g_loss(t.loss, self.D(self._augment(fake, generator), labels))
            self._check_finite(loss, "G")
            self.opt_G.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_G.step()
        finally:
            self.D.requires_grad_(True)
        return {"g_loss": _f(loss)}

    @torch.no_grad()
    def update_ema(self, step: int) -> None:
        """G_ema <- beta G_ema + (1 - beta) G, with beta ramped up over the first steps; buffers copied."""
        t = self.config.train
        beta = 0.0 if step < t.ema_start or t.ema_decay == 0 else min(t.ema_decay, (1 + step) / (10 + step))
        for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
            p_ema.lerp_(p.detach(), 1.0 - beta)
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_ema.copy_(b)

    def train_step(self, step: int, real_batches: list, generator: torch.Generator) -> dict[str, float]:
        """One step: D on each real batch, then G, then EMA. Returns float metrics."""
        self.G.train()
        metrics: dict[str, float] = {}
        for i, (real, labels) in enumerate(real_batches):
            for key, value in self.d_update(real, labels, generator, step * len(real_batches) + i).items():
                metrics[key] = metrics.get(key, 0.0) + value / len(real_batches)
        metrics.update(self.g_update(real_batches[0][0].shape[0], generator))
        self.update_ema(step)
        return metrics

    def sync_buffers(self) -> None:
        """Make every rank's G/G_ema buffers (BatchNorm statistics) rank 0's."""
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            for module in (self.G, self.G_ema):
                for buffer in module.buffers():
                    dist.broadcast(buffer, src=0)

    @staticmethod
    def _check_finite(loss: torch.Tensor, which: str) -> None:
        if not torch.isfinite(loss):
            raise NumericalError(f"the {which} loss became {_f(loss)}; training diverged. "
                                 "Lower --lr-g/--lr-d, add --r1, or use --loss hinge")


def _f(tensor: torch.Tensor) -> float:
    return tensor.detach().item()
