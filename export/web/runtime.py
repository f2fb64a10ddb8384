"""Find the onnxruntime-web files a site ships: from the npm package, never a CDN.

Where ``ganedge export web`` looks, first match wins:

1. ``--ort-web DIR`` (an ``onnxruntime-web`` package folder, or its ``dist/``);
2. the ``GANEDGE_ORT_WEB`` environment variable (same);
3. ``node_modules/onnxruntime-web`` beside this file: in a ganedge checkout that is
   ``export/web/node_modules``, filled by ``npm ci`` there (``make web-deps``) from the committed
   ``package-lock.json``, which pins the version the tests ran;
4. ``./node_modules/onnxruntime-web`` in the working directory.

Only the WebAssembly build is shipped: ``ort.wasm.min.mjs`` (the API), ``ort-wasm-simd-threaded.mjs``
(its Emscripten loader) and ``ort-wasm-simd-threaded.wasm`` (the runtime, SIMD + threads). The
file names change between onnxruntime-web releases, so a package without them is refused with
the version that has them, rather than guessed at.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ganedge.errors import BackendUnavailableError

ENV_VAR = "GANEDGE_ORT_WEB"
PACKAGE = "onnxruntime-web"
RUNTIME_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
HERE = Path(__file__).resolve().parent


def pinned_version() -> str:
    """The onnxruntime-web version in package.json beside this file (what the tests ran)."""
    try:
        return json.loads((HERE / "package.json").read_text())["dependencies"][PACKAGE]
    except (OSError, ValueError, KeyError):
        return "1.30.0"


@dataclass(frozen=True)
class OrtWeb:
    """An onnxruntime-web package on disk."""

    root: Path  # the package folder (holds package.json and dist/)
    version: str
    license: str

    def files(self) -> list[Path]:
        return [self.root / "dist" / name for name in RUNTIME_FILES]


def _how_to_get() -> str:
    return (f"run `npm ci` in {HERE} (in a ganedge checkout: `make web-deps`), or `npm install "
            f"{PACKAGE}@{pinned_version()}` anywhere and pass --ort-web node_modules/{PACKAGE} "
            f"(or set {ENV_VAR})")


def _package_at(folder: Path) -> OrtWeb | None:
    """The package at ``folder`` (its root or its dist/), or None if it is not onnxruntime-web."""
    root = folder.parent if folder.name == "dist" and not (folder / "package.json").exists() else folder
    try:
        meta = json.loads((root / "package.json").read_text())
    except (OSError, ValueError):
        return None
    if meta.get("name") != PACKAGE:
        return None
    return OrtWeb(root=root, version=str(meta.get("version", "?")), license=str(meta.get("license", "MIT")))


def find_ort_web(explicit: str | os.PathLike | None = None) -> OrtWeb:
    """The onnxruntime-web package to ship; BackendUnavailableError (one line, what to run) if none."""
    if explicit is not None:
        candidates, named = [Path(explicit)], True
    elif os.environ.get(ENV_VAR):
        candidates, named = [Path(os.environ[ENV_VAR])], True
    else:
        candidates, named = [HERE / "node_modules" / PACKAGE, Path.cwd() / "node_modules" / PACKAGE], False
    for folder in candidates:
        found = _package_at(folder)
        if found is None:
            if named:
                source = "--ort-web" if explicit is not None else ENV_VAR
                raise BackendUnavailableError(f"{source} {folder} is not an {PACKAGE} package folder (no package.json "
                                              f"naming {PACKAGE}); {_how_to_get()}")
            continue
        missing = [p.name for p in found.files() if not p.is_file()]
        if missing:
            raise BackendUnavailableError(f"{PACKAGE} {found.version} at {found.root} lacks {', '.join(missing)} "
                                          f"(file names differ between releases; ganedge ships those of "
                                          f"{pinned_version()}); {_how_to_get()}")
        return found
    looked = ", ".join(str(c) for c in candidates)
    raise BackendUnavailableError(f"{PACKAGE} not found (looked in {looked}); {_how_to_get()}")
