"""Generators trained elsewhere: a module reference (``FILE.py:NAME`` or ``pkg.module:NAME``) -> a torch module.

NAME is a callable taking no arguments (a function or a class) that returns a ``torch.nn.Module``
whose ``forward(z)`` — or ``forward(z, label)`` for a conditional model — takes float32
``(n, latent_dim)`` (and int64 ``(n,)``) and returns float32 ``(n, C, H, W)`` in the output range
the caller states. Weights come from a safetensors file loaded with ``strict=True``; pickle-based
files are refused (a ``.pt`` can run arbitrary code when loaded).

Loading a reference runs the user's code: that is what they asked for, and it is the same trust
they give their own training script. A file reference imports ``FILE.py`` under a private module
name with its folder on ``sys.path`` (so its sibling imports work, as they do when the user runs it).

After building, the module is *probed*: run once on two fixed latents to find the image shape,
then run again to prove ``forward`` is deterministic (noise drawn inside ``forward`` or dropout in
train mode would make a seed give a different image on every call — refused, with the fix).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ganedge.artifacts.manifest import Manifest, check_class_names, sha256_file
from ganedge.artifacts.onnx_meta import io_names
from ganedge.errors import BadInputError, ConfigError
from ganedge.images import uint8_affine
from ganedge.latents import latents

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")
# Attribute names generator code commonly keeps its latent size under (StyleGAN z_dim, DCGAN nz, ...).
LATENT_DIM_ATTRS = ("latent_dim", "z_dim", "nz", "dim_z", "zdim", "latent_size", "noise_dim")
PROBE_SEEDS = (0, 1)
CONVERT_HINT = ("convert it in your own trusted environment: load it there, then "
                "`from ganedge.export import save_weights; save_weights(module, 'G.safetensors')`")


@dataclass(frozen=True)
class ModuleReference:
    """A parsed ``FILE.py:NAME`` or ``package.module:NAME``."""

    text: str
    target: str  # the file path or the dotted module
    name: str  # the attribute path inside it
    is_file: bool


@dataclass(frozen=True)
class ModuleSpec:
    """What a module reference cannot say about itself."""

    latent_dim: int | None = None  # None: read a common attribute (z_dim, nz, ...) off the module
    num_classes: int = 0
    output_range: tuple[float, float] = (-1.0, 1.0)
    weights: str | None = None  # a .safetensors file
    class_names: tuple[str, ...] | None = None


def looks_like_reference(text: str) -> bool:
    """Whether ``text`` has the shape of a module reference (an existing path never does)."""
    target, sep, name = str(text).rpartition(":")
    if not sep or not target or not _DOTTED.match(name) or Path(str(text)).exists():
        return False
    return target.endswith(".py") or bool(_DOTTED.match(target))


def parse_reference(text: str) -> ModuleReference:
    if not looks_like_reference(text):
        raise BadInputError(f"{text!r} is not a module reference; write FILE.py:NAME or package.module:NAME")
    target, _, name = str(text).rpartition(":")
    return ModuleReference(text=str(text), target=target, name=name, is_file=target.endswith(".py"))


def _import_target(ref: ModuleReference):
    if not ref.is_file:
        try:
            return importlib.import_module(ref.target)
        except ImportError as exc:
            raise BadInputError(f"cannot import {ref.target!r} ({exc}); check the module path or install its package") from None
        except Exception as exc:  # the user's module failed while importing
            raise BadInputError(f"importing {ref.target} raised {type(exc).__name__}: {_first_line(exc)}") from None
    path = Path(ref.target).resolve()
    if not path.is_file():
        raise BadInputError(f"module file {ref.target} does not exist")
    name = "ganedge_user_" + hashlib.sha256(str(path).encode()).hexdigest()[:16]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))  # sibling imports of the user's file work as when they run it
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise BadInputError(f"importing {ref.target} raised {type(exc).__name__}: {_first_line(exc)}") from None
    return module


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def resolve_callable(ref: ModuleReference):
    obj = _import_target(ref)
    for part in ref.name.split("."):
        if not hasattr(obj, part):
            raise BadInputError(f"{ref.target} has no attribute {ref.name!r}; name a function or class defined there")
        obj = getattr(obj, part)
    if not callable(obj):
        raise BadInputError(f"{ref.text} is a {type(obj).__name__}, not a callable that builds a generator")
    return obj


def build_module(ref: ModuleReference):
    """Call NAME() and check that it gave a torch.nn.Module."""
    import torch

    factory = resolve_callable(ref)
    try:
        module = factory()
    except TypeError as exc:
        raise BadInputError(f"{ref.text}() failed ({_first_line(exc)}); NAME must be callable without arguments "
                            "(wrap your constructor in a function that passes them)") from None
    except Exception as exc:
        raise BadInputError(f"{ref.text}() raised {type(exc).__name__}: {_first_line(exc)}") from None
    if not isinstance(module, torch.nn.Module):
        raise BadInputError(f"{ref.text}() returned a {type(module).__name__}, not a torch.nn.Module")
    return module


def load_weights_file(module, weights: str | Path) -> str:
    """Load a safetensors state dict into ``module`` (strict); returns the file's sha256."""
    path = Path(weights)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise BadInputError(f"{path.name} is a pickle-based file, which ganedge never loads (unpickling runs code); "
                            f"{CONVERT_HINT}")
    if not path.is_file():
        raise BadInputError(f"weights file {path} does not exist")
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise BadInputError(f"{path} is not a readable safetensors file ({_first_line(exc)}); {CONVERT_HINT}") from None
    result = module.load_state_dict(state, strict=False)
    missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
    if missing or unexpected:
        parts = [f"missing {_keys(missing)}" if missing else "", f"unexpected {_keys(unexpected)}" if unexpected else ""]
        raise BadInputError(f"{path.name} does not fit the module: {'; '.join(p for p in parts if p)}")
    return sha256_file(path)


def _keys(keys: list[str]) -> str:
    shown = ", ".join(keys[:5])
    return f"{len(keys)} key(s): {shown}{' ...' if len(keys) > 5 else ''}"


def state_sha256(module) -> str:
    """A hash of the module's parameters and buffers (for a module without a weights file)."""
    digest = hashlib.sha256()
    for key, value in sorted(module.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def latent_dim_of(module, where: str, given: int | None) -> int:
    if given is not None:
        if given < 1:
            raise BadInputError(f"--latent-dim must be >= 1, got {given}")
        return int(given)
    for attr in LATENT_DIM_ATTRS:
        value = getattr(module, attr, None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    raise BadInputError(f"{where}: pass --latent-dim (the module has none of the attributes "
                        f"{', '.join(LATENT_DIM_ATTRS)})")


@functools.lru_cache(maxsize=1)
def _adapter_class():
    import torch

    class ForeignGenerator(torch.nn.Module):
        """A user's module behind ganedge's call convention ``forward(z, label=None)``."""

        def __init__(self, module, conditional: bool):
            super().__init__()
            self.module = module
            self.conditional = conditional

        def forward(self, z, label=None):
            out = self.module(z, label) if self.conditional else self.module(z)
            # float64/float16 images become float32, the contract's output type (a no-op for float32).
            return out.float() if isinstance(out, torch.Tensor) and out.is_floating_point() else out

    return ForeignGenerator


def adapt(module, conditional: bool):
    """Wrap ``module`` so it is called like ganedge's own generators (torch is imported here, not at import)."""
    return _adapter_class()(module, conditional)


def probe(generator, latent_dim: int, num_classes: int, where: str) -> tuple[tuple[int, int, int], str]:
    """Run the adapted ``generator``'s own module twice on two fixed latents: ((C, H, W), its output dtype);
    refuses randomness in forward and outputs that are not float images."""
    import torch

    z = torch.from_numpy(latents(list(PROBE_SEEDS), latent_dim))  # (2, latent_dim)
    label = torch.arange(len(PROBE_SEEDS), dtype=torch.int64) % num_classes if num_classes else None
    outputs = []
    for _ in range(2):
        try:
            with torch.no_grad():
                out = generator.module(z, label) if generator.conditional else generator.module(z)
        except Exception as exc:
            hint = "; if the model is conditional pass --num-classes" if not num_classes and isinstance(exc, TypeError) else ""
            raise BadInputError(f"{where}: forward raised {type(exc).__name__}: {_first_line(exc)}{hint}") from None
        if not isinstance(out, torch.Tensor) or not out.is_floating_point() or out.dim() != 4 \
                or out.shape[0] != len(PROBE_SEEDS):
            what = f"a {out.dtype} tensor of shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
            raise BadInputError(f"{where}: forward returned {what}; expected float32 images (n, C, H, W) for "
                                f"z of shape (n, {latent_dim})")
        outputs.append(out)
    if not torch.equal(outputs[0], outputs[1]):
        raise ConfigError(f"{where}: forward gives different images for the same z on two calls (randomness inside "
                          "forward: noise drawn with torch.randn, or dropout in train mode); put the module in eval "
                          "mode, and make noise a registered buffer or derive it from z")
    return tuple(int(v) for v in outputs[0].shape[1:]), str(outputs[0].dtype).replace("torch.", "")


def load_reference(text: str, spec: ModuleSpec = ModuleSpec()):
    """``(generator adapted to forward(z, label), Manifest)`` for a module reference, weights loaded, in eval mode."""
    ref = parse_reference(text)
    uint8_affine(spec.output_range)  # a bad range fails here, before the user's code runs
    module = build_module(ref)
    source_sha = load_weights_file(module, spec.weights) if spec.weights else None
    return describe_module(module, ref.text, spec, source_sha)


def bake_spectral_norm(module) -> int:
    """Replace hook-based spectral norm (``torch.nn.utils.spectral_norm``) by the weight it gives in eval mode.

    The hook recomputes ``weight`` from ``weight_orig`` and the stored singular vectors on every call
    and assigns it as a plain attribute, which torch.export warns about (and a strict caller turns into
    an error). In eval mode that weight is a constant, so baking it is exact. Returns how many were baked.
    """
    from torch.nn.utils import remove_spectral_norm
    from torch.nn.utils.spectral_norm import SpectralNorm

    baked = 0
    for sub in module.modules():
        for hook in list(sub._forward_pre_hooks.values()):
            if isinstance(hook, SpectralNorm):
                remove_spectral_norm(sub, hook.name)
                baked += 1
    return baked


def describe_module(module, arch: str, spec: ModuleSpec, source_sha256: str | None = None):
    """``(generator adapted to forward(z, label), Manifest)`` for a module in hand; ``arch`` names it in the manifest.

    The module is put in eval mode and its hook-based spectral norms are baked (exact in eval mode).
    """
    import torch

    if not isinstance(module, torch.nn.Module):
        raise BadInputError(f"expected a torch.nn.Module, got {type(module).__name__}")
    uint8_affine(spec.output_range)
    module = module.eval().cpu()
    source_sha256 = source_sha256 or state_sha256(module)  # of the weights as given, before baking
    bake_spectral_norm(module)
    latent_dim = latent_dim_of(module, arch, spec.latent_dim)
    if spec.num_classes < 0:
        raise BadInputError(f"--num-classes must be >= 0, got {spec.num_classes}")
    generator = adapt(module, conditional=spec.num_classes > 0).eval()
    image_shape, dtype = probe(generator, latent_dim, spec.num_classes, arch)
    inputs, outputs = io_names(spec.num_classes)
    names = None
    if spec.class_names:
        try:
            names = check_class_names(tuple(spec.class_names), spec.num_classes)
        except ValueError as exc:
            raise BadInputError(f"class names: {exc}") from None
    manifest = Manifest(arch=arch, latent_dim=latent_dim, image_shape=image_shape, num_classes=spec.num_classes,
                        inputs=tuple(inputs), output=outputs[0], output_range=tuple(float(v) for v in spec.output_range),
                        source_sha256=source_sha256, class_names=names,
                        extra={} if dtype == "float32" else {"output_cast": f"{dtype} -> float32"})
    return generator, manifest
