"""What a sweep runs: artifacts (MODEL arguments) x backends x precisions, loaded through the SDK.

A *variant* is one artifact loaded one way (backend, device, precision); a *case* is a
variant at one batch size, the unit the scheduler times and a result row describes.

The backend follows the artifact (ONNX -> onnxruntime, engine -> tensorrt, run dir -> torch;
``ganedge.sdk.loader`` owns that rule); ``--backends`` filters, and naming ``openvino`` in it
runs ONNX files on OpenVINO as well (an empty filter: each artifact on its own backend). ONNX files and engines carry their precision in their manifest; run dirs on torch,
and fp32/fp16 ONNX files on OpenVINO, are run at each of ``--precisions`` that backend offers
(OpenVINO: fp32, and bf16 where the CPU executes it natively); an int8 ONNX file runs once on
OpenVINO, with ``precision="auto"`` for its float layers (bf16 where native and gated). Run dirs
and engines run in each of ``--modes``: eager, or as CUDA graphs (captured once per batch size
and replayed; CUDA devices only).

Variants of one model are grouped by the checkpoint they came from (the manifest's
``source_sha256``, the weights file's hash), so quality can compare each with the fp32
member of its own group.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ganedge.errors import BadInputError

TORCH_PRECISIONS = ("fp32", "bf16", "fp16")
OPENVINO_PRECISIONS = ("fp32", "bf16")
MODES = ("eager", "graphs")  # graphs: CUDA graphs, captured once per batch size and replayed
TORCH_KINDS = ("run_dir", "module")  # PyTorch sources: a run directory or a module reference (FILE.py:NAME)
GRAPH_KINDS = (*TORCH_KINDS, "engine")  # the artifacts whose backends (torch, TensorRT) can replay CUDA graphs


@dataclass(frozen=True)
class Artifact:
    path: Path
    kind: str  # "run_dir" | "module" | "onnx" | "engine"
    backend: str  # the family that runs it
    # sdk.load keywords that describe a module reference (latent_dim, weights, num_classes, ...)
    options: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class Variant:
    artifact: Artifact
    requested_precision: str | None  # torch: fp32/bf16/fp16; openvino: fp32/bf16/auto; None: the file's own
    mode: str | None = None  # "eager" | "graphs" for run dirs and engines; None where it does not apply
    runtime: str | None = None  # the backend to load with, when not the artifact's own (openvino for ONNX)
    generator: Any = None  # ganedge.sdk.Generator once loaded
    info: dict[str, Any] = field(default_factory=dict)  # the generator's backend_info

    @property
    def backend(self) -> str:
        return self.generator.backend if self.generator else (self.runtime or self.artifact.backend)

    @property
    def device(self) -> str:
        return self.generator.device if self.generator else "?"

    @property
    def precision(self) -> str:
        if self.generator is not None:
            return self.generator.precision
        return self.requested_precision or "?"

    @property
    def group(self) -> str:
        """The checkpoint this variant's weights came from (or its own path when unknown)."""
        sha = self.generator.manifest.source_sha256 if self.generator else None
        return sha or str(self.artifact.path.resolve())

    @property
    def label(self) -> str:
        graphs = "+graphs" if self.mode == "graphs" else ""
        return f"{self.artifact.name} {self.backend}/{self.precision}{graphs}"

    def load_kwargs(self, device: str, threads: int | None) -> dict[str, Any]:
        """Keyword arguments for ``ganedge.sdk.load`` (also sent to the cold-start subprocess)."""
        kwargs: dict[str, Any] = {"backend": self.runtime or self.artifact.backend, "device": device}
        if self.artifact.kind != "engine":
            kwargs["threads"] = threads
        if self.requested_precision is not None:
            kwargs["precision"] = self.requested_precision
        if self.mode == "graphs":
            kwargs["cuda_graphs"] = True
        if self.artifact.kind == "module":
            kwargs.update(self.artifact.options)
        return kwargs


@dataclass(frozen=True)
class Case:
    """One configuration of the sweep: a variant at one batch size."""

    variant: Variant
    batch_size: int

    @property
    def label(self) -> str:
        return f"{self.variant.label} b={self.batch_size}"


def balanced_labels(manifest: Any, n: int, start: int = 0) -> list[int] | None:
    """Class ids ``start, start+1, ...`` modulo the class count for a conditional model (every class
    equally often), None for an unconditional one: what every timed or scored call feeds."""
    k = manifest.num_classes
    return [(start + i) % k for i in range(n)] if k else None


def check_installed(variants: Sequence[Variant]) -> None:
    """Each model's cheap checks (``sdk.loader.preflight``), then every runtime the sweep will import: a bad
    model is named first, else all missing extras at once (one MissingExtraError), before anything loads."""
    from ganedge.extras import require_all
    from ganedge.sdk.backends import BACKEND_MODULES
    from ganedge.sdk.loader import preflight

    for artifact in {v.artifact.path: v.artifact for v in variants}.values():
        preflight(artifact.path, artifact.backend)
    require_all(sorted({m for v in variants for m in BACKEND_MODULES[v.backend]}), "the benchmark")


def resolve_artifacts(models: Sequence[str | Path], module_options: dict[str, Any] | None = None) -> list[Artifact]:
    """The artifacts to bench; ``module_options`` describe every module reference among them."""
    from ganedge.sdk.loader import artifact_kind, resolve_backend  # light: no runtime imported

    if not models:
        raise BadInputError("no MODEL given; pass run directories, module references, .onnx files or TensorRT engines")
    artifacts, seen = [], set()
    for model in models:
        kind = artifact_kind(model)  # ArtifactError names a missing or unknown path
        path = Path(model)
        key = str(model) if kind == "module" else path.resolve()
        if key in seen:
            continue
        seen.add(key)
        options = dict(module_options or {}) if kind == "module" else {}
        artifacts.append(Artifact(path, kind, resolve_backend("auto", kind)[0], options))
    return artifacts


def _openvino_variants(artifact: Artifact, precisions: Sequence[str]) -> list[Variant]:
    """An ONNX file on OpenVINO: at each of ``precisions`` it offers (bf16 only where native), or once
    with precision auto for an int8 file (its float layers in bf16 where native and gated)."""
    from ganedge.cpu_features import cpu_features

    if _onnx_precision(artifact.path) == "int8":
        return [Variant(artifact, "auto", None, runtime="openvino")]
    native = cpu_features().native_bf16
    return [Variant(artifact, p, None, runtime="openvino") for p in precisions
            if p in OPENVINO_PRECISIONS and (p != "bf16" or native)]


def _onnx_precision(path: Path) -> str | None:
    """The precision in an ONNX file's manifest (read by the pure-Python scan), None without one."""
    from ganedge.artifacts.onnx_meta import manifest_from_metadata
    from ganedge.artifacts.onnx_safety import check_onnx_file

    manifest = manifest_from_metadata(check_onnx_file(path).metadata, where=path.name)
    return manifest.precision if manifest else None


def expand_variants(artifacts: Sequence[Artifact], backends: Sequence[str], precisions: Sequence[str],
                    modes: Sequence[str] = ("eager",)) -> list[Variant]:
    """Every (artifact, backend, precision, mode) the filters allow; BadInputError if that leaves nothing."""
    from ganedge.sdk.backends import BACKEND_CHOICES as BACKENDS

    unknown = [b for b in backends if b not in BACKENDS or b == "auto"]
    if unknown:
        raise BadInputError(f"--backends: {unknown[0]!r} is not one of {', '.join(b for b in BACKENDS if b != 'auto')}")
    wanted = set(backends) if backends else None
    bad = [p for p in precisions if p not in TORCH_PRECISIONS]
    if bad:
        raise BadInputError(f"--precisions: {bad[0]!r} is not one of {', '.join(TORCH_PRECISIONS)} "
                            "(ONNX files and engines run at their own precision)")
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise BadInputError(f"--modes: {(bad or [''])[0]!r} is not one of {', '.join(MODES)}")
    variants = []
    for artifact in artifacts:
        if wanted is None or artifact.backend in wanted:
            artifact_modes = modes if artifact.kind in GRAPH_KINDS else (None,)
            artifact_precisions = precisions if artifact.kind in TORCH_KINDS else (None,)
            variants.extend(Variant(artifact, p, m) for p, m in itertools.product(artifact_precisions, artifact_modes))
        if artifact.kind == "onnx" and wanted is not None and "openvino" in wanted:
            variants.extend(_openvino_variants(artifact, precisions))
    if not variants:
        kinds = ", ".join(sorted({a.backend for a in artifacts}))
        raise BadInputError(f"--backends {','.join(backends)} matches none of the models (they run on {kinds})")
    return variants


def load_variants(variants: Sequence[Variant], device: str, threads: int | None) -> None:
    from ganedge import sdk

    for variant in variants:
        variant.generator = sdk.load(variant.artifact.path, **variant.load_kwargs(device, threads))
        variant.info = variant.generator.backend_info


def close_variants(variants: Sequence[Variant]) -> None:
    for variant in variants:
        if variant.generator is not None:
            variant.generator.close()


def checkpoint_names(variants: Sequence[Variant]) -> dict[str, str]:
    """A short display name per group: its run dir's name, else its first file's name up to the first dot."""
    names: dict[str, str] = {}
    for variant in sorted(variants, key=lambda v: v.artifact.kind not in TORCH_KINDS):
        names.setdefault(variant.group, variant.artifact.name.split(".")[0] or variant.artifact.name)
    return names


def make_cases(variants: Sequence[Variant], batch_sizes: Sequence[int]) -> list[Case]:
    return [Case(v, b) for v, b in itertools.product(variants, batch_sizes)]
