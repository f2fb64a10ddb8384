"""``ganedge export web``: an ONNX export -> a static folder that samples it in the browser.

    site/index.html   the demo: seed, random, truncation, class, interpolation, grid, ms/image
    site/app.js       the page's controls (main thread)
    site/worker.js    loads the model and renders in a Web Worker
    site/ganedge.js   the ES module: load(), sample(), latents(), slerp(), the uint8 mapping
    site/style.css
    site/model.onnx   the model, manifest inside (ganedge.js reads it from the ONNX metadata)
    site/ort/         onnxruntime-web's WebAssembly build, copied from the npm package + NOTICE
    site/serve.py     a static server that sends the COOP/COEP headers WebAssembly threads need
    site/site.json    what was written: ganedge and onnxruntime-web versions, model hash, files

The folder is built under a hidden temporary name beside the target and renamed into place, so
a server never sees half a site. Pure Python (no onnx, no onnxruntime) unless the model has to
be converted to fp16.
"""

from __future__ import annotations

import html
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganedge import __version__
from ganedge.errors import ArtifactError, BadInputError, OutputError
from ganedge.artifacts.manifest import ONNX_METADATA_KEY, Manifest
from ganedge.artifacts.trt_sidecar import ENGINE_SUFFIXES
from ganedge.fsutil import atomic_dir

from ganedge.export.web.runtime import OrtWeb, find_ort_web

ASSETS = Path(__file__).resolve().parent / "assets"
PAGE_FILES = ("ganedge.js", "worker.js", "app.js", "style.css", "serve.py")
MODEL_FILE = "model.onnx"
SITE_FILE = "site.json"
SITE_GENERATOR = "ganedge export web"
WEB_PRECISIONS = ("fp32", "fp16")


@dataclass(frozen=True)
class WebOptions:
    precision: str | None = None  # None: ship the model as it is; "fp16" converts an fp32 export (gated)
    title: str | None = None  # page title; default from the manifest
    force: bool = False  # replace a site this command wrote before
    ort_web: str | os.PathLike | None = None  # onnxruntime-web package folder (see runtime.find_ort_web)


@dataclass
class SiteResult:
    site: Path
    files: dict[str, int]  # relative path -> bytes
    manifest: Manifest
    ort_version: str
    replaced: bool
    converted: dict[str, Any] | None  # the fp16 gate's figures when the model was converted

    @property
    def total_bytes(self) -> int:
        return sum(self.files.values())

    def to_dict(self) -> dict[str, Any]:
        return {"site": str(self.site), "files": self.files, "total_bytes": self.total_bytes,
                "onnxruntime_web": self.ort_version, "replaced": self.replaced, "precision": self.manifest.precision,
                "converted": self.converted, "manifest": self.manifest.to_dict()}


def read_web_model(path: str | os.PathLike) -> tuple[Manifest, Path]:
    """The manifest of an ONNX file fit for the page; ArtifactError naming the fix otherwise."""
    from ganedge.artifacts.onnx_safety import check_onnx_file

    path = Path(path)
    if path.suffix.lower() in ENGINE_SUFFIXES:
        raise ArtifactError(f"{path} is a TensorRT engine (by its name); a web page runs ONNX: pass the .onnx export "
                            "the engine was built from")
    if path.is_dir():
        raise ArtifactError(f"{path} is a folder; the page runs an ONNX export: run `ganedge export onnx {path} "
                            "-o model.onnx` first and pass model.onnx")
    summary = check_onnx_file(path)  # exists, really ONNX, not truncated, no escaping external data
    text = summary.metadata.get(ONNX_METADATA_KEY)
    if text is None:
        raise ArtifactError(f"{path} has no ganedge manifest (ONNX metadata key '{ONNX_METADATA_KEY}'); export it "
                            "with `ganedge export onnx` so the page knows its latent size, image shape and classes")
    if summary.external_data:
        raise ArtifactError(f"{path} keeps weights in external files ({summary.external_data[0].location}); a web "
                            "page loads one file: re-export it as a single .onnx")
    manifest = Manifest.from_json(text, where=f"{path} metadata '{ONNX_METADATA_KEY}'")
    if manifest.channels not in (1, 3):
        raise ArtifactError(f"{path} makes {manifest.channels}-channel images; the page draws 1 (grey) or 3 (RGB)")
    lo, hi = manifest.output_range
    if not hi > lo:
        raise ArtifactError(f"{path}: the manifest's output_range {list(manifest.output_range)} is not lo < hi")
    return manifest, path


def check_target(site: Path, force: bool) -> bool:
    """Whether ``site`` holds something to replace; refuse a non-empty folder without --force, and
    any non-empty folder that this command did not write (--force never deletes other files)."""
    if not site.exists():
        return False
    if not site.is_dir():
        raise OutputError(f"{site} exists and is not a folder; choose another -o")
    if not any(site.iterdir()):
        return False
    if not force:
        raise OutputError(f"{site} exists and is not empty; pass --force to replace the site in it, or choose another -o")
    try:
        generator = json.loads((site / SITE_FILE).read_text()).get("generator")
    except (OSError, ValueError, AttributeError):
        generator = None
    if generator != SITE_GENERATOR:
        raise OutputError(f"{site} is not a site written by `{SITE_GENERATOR}` (no {SITE_FILE}); --force replaces only "
                          "those: empty it or choose another -o")
    return True


def build_site(model: str | os.PathLike, output: str | os.PathLike, options: WebOptions = WebOptions()) -> SiteResult:
    """Write the static site for ``model`` to ``output`` (see the module docstring)."""
    if options.precision is not None and options.precision not in WEB_PRECISIONS:
        raise BadInputError(f"--precision must be one of {', '.join(WEB_PRECISIONS)}, got {options.precision!r}")
    manifest, model_path = read_web_model(model)
    site = Path(output)
    replacing = check_target(site, options.force)
    ort_web = find_ort_web(options.ort_web)
    model_bytes, manifest, converted = _model_bytes(model_path, manifest, options.precision)
    with atomic_dir(site, replace=site.exists()) as staging:  # an empty folder or one of our sites (checked above)
        files = _write_files(staging, model_bytes, manifest, ort_web, options.title)
    return SiteResult(site=site, files=files, manifest=manifest, ort_version=ort_web.version, replaced=replacing,
                      converted=converted)


def _model_bytes(path: Path, manifest: Manifest, precision: str | None) -> tuple[bytes, Manifest, dict | None]:
    if precision is None or precision == manifest.precision:
        return path.read_bytes(), manifest, None
    if precision == "fp16" and manifest.precision == "fp32":
        from ganedge.export.web.fp16 import convert_fp16

        data, figures = convert_fp16(path, manifest)
        return data, manifest.replace(precision="fp16"), figures
    raise BadInputError(f"{path} is an {manifest.precision} export and --precision {precision} asks for {precision}: "
                        f"pass the {precision} export (`ganedge export onnx RUN --precision {precision}`) or leave out "
                        "--precision")


def _title(manifest: Manifest, title: str | None) -> str:
    if title:
        return title
    c, h, w = manifest.image_shape
    return f"{manifest.arch} {w}×{h}" + (f", {manifest.num_classes} classes" if manifest.num_classes else "")


def _write_files(folder: Path, model_bytes: bytes, manifest: Manifest, ort_web: OrtWeb, title: str | None) -> dict[str, int]:
    (folder / MODEL_FILE).write_bytes(model_bytes)
    for name in PAGE_FILES:
        shutil.copyfile(ASSETS / name, folder / name)
    page = (ASSETS / "index.html").read_text(encoding="utf-8")
    (folder / "index.html").write_text(page.replace("{{TITLE}}", html.escape(_title(manifest, title))), encoding="utf-8")
    ort_dir = folder / "ort"
    ort_dir.mkdir()
    for source in ort_web.files():
        shutil.copyfile(source, ort_dir / source.name)
    (ort_dir / "NOTICE").write_text(
        f"These files are onnxruntime-web {ort_web.version} (https://github.com/microsoft/onnxruntime, "
        f"license {ort_web.license}, Copyright (c) Microsoft Corporation), copied unchanged from its npm package "
        f"by {SITE_GENERATOR}.\n", encoding="utf-8")
    files = {p.relative_to(folder).as_posix(): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}
    record = {"generator": SITE_GENERATOR, "ganedge_version": __version__, "onnxruntime_web": ort_web.version,
              "model": MODEL_FILE, "model_sha256": _sha256(model_bytes), "manifest": manifest.to_dict(),
              "files": files}
    (folder / SITE_FILE).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    files[SITE_FILE] = (folder / SITE_FILE).stat().st_size
    return files


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
