"""A generator as a torch module, from a run directory or a module reference, for export, evaluation and the SDK.

Every PyTorch source ganedge accepts comes through :func:`load_source`: a run directory written
by ``ganedge train`` (its EMA weights by default), or a module reference ``FILE.py:NAME`` /
``package.module:NAME`` to a generator trained elsewhere (see :mod:`ganedge.models.reference`).
Either way the result is a module called as ``generator(z, label=None)`` and its manifest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganedge.artifacts.manifest import Manifest
from ganedge.artifacts.run_config import RunConfig
from ganedge.artifacts.run_dir import WEIGHTS_FILE, is_run_dir, load_weights, manifest_from_run, read_config
from ganedge.errors import ArtifactError, BadInputError, ConfigError
from ganedge.models.reference import (CONVERT_HINT, PICKLE_SUFFIXES, ModuleSpec, load_reference,
                                      looks_like_reference)


def load_generator(run_dir: str | Path, ema: bool = True, device: str = "cpu"):
    """``(generator in eval mode, RunConfig, weights metadata)`` from a run directory.

    ``ema=True`` (the default for sampling and export) uses the EMA weights when the run has them.
    """
    from ganedge.models import build_generator

    run_dir = Path(run_dir)
    config = read_config(run_dir)
    groups, meta = load_weights(run_dir / WEIGHTS_FILE)
    name = "G_ema" if ema and "G_ema" in groups else "G"
    if name not in groups:
        raise ArtifactError(f"{run_dir / WEIGHTS_FILE} holds no generator weights")
    generator = build_generator(config.model)
    try:
        generator.load_state_dict(groups[name])
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"{run_dir}: weights do not fit a {config.model.arch} generator with this config ({first})") from None
    meta.setdefault("weights", name)
    return generator.to(device).eval(), config, meta


@dataclass
class TorchSource:
    """A PyTorch generator and what is known about it."""

    text: str  # the run directory or module reference as given
    generator: Any  # torch.nn.Module, called as generator(z, label=None), eval mode
    manifest: Manifest
    weights: str  # "G_ema" / "G" for run dirs; the weights file, or "as built", for module references
    config: RunConfig | None = None  # run directories only

    @property
    def is_run_dir(self) -> bool:
        return self.config is not None


def is_torch_source(text: str | Path) -> bool:
    """A run directory or something shaped like a module reference."""
    return is_run_dir(text) or looks_like_reference(str(text))


def load_source(source: str | Path, *, ema: bool = True, spec: ModuleSpec | None = None,
                device: str = "cpu", precision: str = "fp32") -> TorchSource:
    """Load a run directory or a module reference; ``spec`` describes a module reference (latent dim, weights, ...)."""
    text = str(source)
    if looks_like_reference(text):
        generator, manifest = load_reference(text, spec or ModuleSpec())
        return TorchSource(text, generator.to(device), manifest.replace(precision=precision),
                           weights=str(spec.weights) if spec and spec.weights else "as built")
    if Path(text).suffix.lower() in PICKLE_SUFFIXES:
        raise BadInputError(f"{Path(text).name} is a pickle-based file, which ganedge never loads (unpickling runs "
                            f"code); write a module reference FILE.py:NAME and {CONVERT_HINT}")
    if not Path(text).exists():
        raise BadInputError(f"{text} does not exist; pass a run directory written by `ganedge train` "
                            "or a module reference FILE.py:NAME / package.module:NAME")
    if not is_run_dir(text):
        raise BadInputError(f"{text} is not a ganedge run directory (no config.json) nor a module reference "
                            "(FILE.py:NAME or package.module:NAME)")
    if spec is not None and spec != ModuleSpec():
        raise BadInputError("--latent-dim, --num-classes, --output-range, --weights and --class-names describe a module "
                            f"reference; {text} is a run directory, which describes itself")
    generator, config, meta = load_generator(text, ema=ema, device=device)
    manifest = manifest_from_run(text, config, meta, precision=precision)
    return TorchSource(text, generator, manifest, weights=str(meta.get("weights", "G")), config=config)
