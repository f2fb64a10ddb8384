"""Which ``pip install 'ganedge[...]'`` brings which optional package: one table for every message.

The base install is numpy, click and pillow. Everything else comes with an extra (pyproject.toml's
``[project.optional-dependencies]``), and a command or backend that needs a missing one says so in
one line: ``<what> needs <package> (pip install 'ganedge[<extra>]')``. The CLI turns any
``ModuleNotFoundError`` of a package in :data:`OPTIONAL_MODULES` into that line
(:func:`missing_extra`, used by ``ganedge.cli.main``); the SDK's import helpers raise the same
line through :func:`require`. A ``ModuleNotFoundError`` of anything else — ganedge's own modules
above all — is a bug and keeps its traceback.

Adding an optional dependency is one line in :data:`OPTIONAL_MODULES`;
tests/core/test_extras.py checks the table against pyproject.toml and against every import in
the package.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from types import ModuleType
from typing import Iterable

from ganedge.errors import BackendUnavailableError


@dataclass(frozen=True)
class Provider:
    """Where an importable top-level module comes from."""

    distribution: str  # the name pip installs
    extra: str  # the ganedge extra that brings it
    alternative: str = ""  # another extra that brings it too, and when to prefer it

    def hint(self) -> str:
        """``pip install 'ganedge[cpu]', or 'ganedge[gpu]' on an NVIDIA GPU``."""
        text = f"pip install 'ganedge[{self.extra}]'"
        if self.alternative:
            extra, _, when = self.alternative.partition(" ")
            text += f", or 'ganedge[{extra}]'" + (f" {when}" if when else "")
        return text


# The base install's packages: top-level import name -> distribution.
BASE_MODULES = {"numpy": "numpy", "click": "click", "PIL": "pillow"}

# top-level import name -> what provides it.
OPTIONAL_MODULES: dict[str, Provider] = {
    "torch": Provider("torch", "train"),
    "onnx": Provider("onnx", "train"),
    "onnxscript": Provider("onnxscript", "train"),
    "safetensors": Provider("safetensors", "train"),
    "sklearn": Provider("scikit-learn", "train"),
    "onnxruntime": Provider("onnxruntime", "cpu", alternative="gpu on an NVIDIA GPU"),
    "tensorrt": Provider("tensorrt", "gpu"),
    "matplotlib": Provider("matplotlib", "bench"),
    "psutil": Provider("psutil", "bench"),
    "starlette": Provider("starlette", "serve"),
    "uvicorn": Provider("uvicorn", "serve"),
    "openvino": Provider("openvino", "openvino"),
    "imageio": Provider("imageio", "video"),
    "imageio_ffmpeg": Provider("imageio-ffmpeg", "video"),
    "ray": Provider("ray", "ray"),
    "playwright": Provider("playwright", "dev"),
}


class MissingExtraError(BackendUnavailableError):
    """An optional package is not installed; the message names the extra that installs it (exit 2)."""

    def __init__(self, message: str, module: str, provider: Provider):
        super().__init__(message)
        self.module = module
        self.provider = provider


def provider_of(module: str) -> Provider | None:
    """The provider of ``module`` (any dotted name; its top-level package decides), None if not optional."""
    return OPTIONAL_MODULES.get(module.partition(".")[0])


def install_hint(module: str) -> str:
    """``pip install 'ganedge[train]'`` for ``torch``; KeyError for a module that is not optional."""
    return OPTIONAL_MODULES[module.partition(".")[0]].hint()


def needs(what: str, module: str) -> str:
    """The one line: ``<what> needs <package> (pip install 'ganedge[<extra>]')``."""
    provider = OPTIONAL_MODULES[module.partition(".")[0]]
    return f"{what} needs {provider.distribution} ({provider.hint()})"


def missing_extra(exc: ModuleNotFoundError, what: str) -> MissingExtraError | None:
    """The one-line error for ``exc`` raised while doing ``what``, or None when ``exc`` is not about an
    optional package (a missing module of ganedge's own is a bug: let it show)."""
    name = getattr(exc, "name", None)
    if not name:
        return None
    top = name.partition(".")[0]
    provider = OPTIONAL_MODULES.get(top)
    if provider is None:
        return None
    if name != top and is_installed(top):
        # The package is there but a piece of it is not: a broken or too old install, not a missing extra.
        return MissingExtraError(f"{what} needs {name}, which the installed {provider.distribution} lacks (too old "
                                 f"or broken?); upgrade it: pip install -U {provider.distribution}", top, provider)
    return MissingExtraError(needs(what, top), top, provider)


def require(module: str, what: str) -> ModuleType:
    """``import module`` for ``what``, or a MissingExtraError naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        error = missing_extra(exc, what)
        if error is None:
            raise
        raise error from None


def require_all(modules: Iterable[str], what: str) -> None:
    """Check before a long job that every module ``what`` will import is installed (found, not imported);
    else one MissingExtraError naming all the extras at once: ``needs torch and onnxruntime
    (pip install 'ganedge[train,cpu]')``, so a user installs once, not once per failure. ``modules`` must
    all be in OPTIONAL_MODULES."""
    by_extra: dict[str, tuple[str, Provider]] = {}  # the first missing package of each extra
    for module in modules:
        top = module.partition(".")[0]
        if not is_installed(top):
            provider = OPTIONAL_MODULES[top]
            by_extra.setdefault(provider.extra, (top, provider))
    if not by_extra:
        return
    (first, provider), *_ = by_extra.values()
    names = [p.distribution for _, p in by_extra.values()]
    packages = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    hint = provider.hint() if len(names) == 1 else f"pip install 'ganedge[{','.join(by_extra)}]'"
    raise MissingExtraError(f"{what} needs {packages} ({hint})", first, provider)


def is_installed(module: str) -> bool:
    """Whether ``module``'s top-level package can be imported (found, not imported)."""
    try:
        return importlib.util.find_spec(module.partition(".")[0]) is not None
    except (ImportError, ValueError):  # ValueError: in sys.modules as None (made unimportable)
        return False
