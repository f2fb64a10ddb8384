"""FLOPs per generated image, counted from the model itself (a FLOP = one multiply or one add).

* Run dirs: torch's ``FlopCounterMode`` on one forward pass at batch 1: 2 x the
  multiply-accumulates of matmuls and convolutions, transposed ones included.
* ONNX files: the export package's graph counter (``ganedge.export.flops.count_file_flops``), the
  same 2 x MACs plus one FLOP per element of bias adds and activations — a fraction of a
  percent more for a conv generator. It reads the file in pure Python, so the light install
  (no onnx, no torch) gets the same count and a complete ``%peak``.
* Engines: not countable from the engine; their group's count is used.

Memory traffic (for the roofline's bandwidth side) is counted for run dirs only: every leaf
layer's input and output plus the weights once per call, the bytes unfused eager execution
moves. ``pct_of_roofline`` compares a row with min(peak FLOP/s, FLOP/byte x copy bandwidth).

One count per checkpoint, shared by every variant of it (see :func:`count_flops`): % of peak
is then *model* FLOPs utilisation, as in MFU. An int8 graph whose stride-2 ConvTransposes were
rewritten to sub-pixel Convs executes 2.25x as many FLOPs for those layers (zeros included),
but it does not do more useful work, so it is not credited with them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from ganedge.bench.variants import TORCH_KINDS, Variant


def onnx_flops(path: str | Path) -> int:
    """FLOPs per sample of an ONNX file (shapes and counts from the graph; no weights read, no onnx needed)."""
    from ganedge.export.flops import count_file_flops

    return int(count_file_flops(path).total)


@dataclass(frozen=True)
class Traffic:
    """Bytes one sample moves through memory in unfused eager execution, counted at fp32."""

    activation_bytes: float  # every leaf layer's input and output, per sample
    weight_bytes: float  # parameters and buffers, read once per call whatever its batch size

    def bytes_per_sample(self, batch_size: int, precision: str = "fp32") -> float:
        """At ``precision`` (2-byte elements for bf16/fp16, as if the whole model ran in it)."""
        scale = ELEMENT_BYTES.get(precision, 4) / 4
        return scale * (self.activation_bytes + self.weight_bytes / batch_size)


ELEMENT_BYTES = {"fp32": 4, "tf32": 4, "bf16": 2, "fp16": 2, "int8": 1}


@functools.lru_cache(maxsize=32)
def torch_source_cost(source: str, options_json: str = "{}") -> tuple[int, Traffic]:
    """FLOPs per sample (torch's FlopCounterMode) and memory traffic (forward hooks on every leaf
    module) of a run directory's or module reference's generator, from one forward pass at batch 1.
    ``options_json``: the module reference's sdk.load options, as JSON (hashable for the cache)."""
    import json

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from ganedge.models.load import load_source
    from ganedge.models.reference import ModuleSpec

    options = json.loads(options_json)
    spec = ModuleSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}) if options else None
    loaded = load_source(source, spec=spec)
    generator, manifest = loaded.generator, loaded.manifest
    z = torch.zeros(1, manifest.latent_dim)  # (1, latent_dim)
    labels = torch.zeros(1, dtype=torch.long) if manifest.num_classes else None
    moved = [0.0]

    def count(module, inputs, output) -> None:
        tensors = [t for t in (*inputs, output) if isinstance(t, torch.Tensor)]
        moved[0] += sum(t.numel() * t.element_size() for t in tensors)

    leaves = [m for m in generator.modules() if not list(m.children())]
    handles = [m.register_forward_hook(count) for m in leaves]
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            generator(z, labels)
    finally:
        for handle in handles:
            handle.remove()
    weights = sum(t.numel() * t.element_size() for t in (*generator.parameters(), *generator.buffers()))
    return int(counter.get_total_flops()), Traffic(moved[0], float(weights))


def run_dir_flops(run_dir: str | Path) -> int:
    return torch_source_cost(str(Path(run_dir).resolve()))[0]


def _torch_cost(artifact) -> tuple[int, Traffic]:
    import json

    source = str(artifact.path) if artifact.kind == "module" else str(artifact.path.resolve())
    return torch_source_cost(source, json.dumps(artifact.options, sort_keys=True))


def count_traffic(variants: list[Variant]) -> dict[int, Traffic]:
    """Memory traffic of each run-dir variant (keyed by ``id(variant)``), for the roofline.

    Only PyTorch sources: an exported graph's traffic depends on what its runtime fuses, which the
    file does not say. A failure costs the roofline column, never the benchmark.
    """
    result: dict[int, Traffic] = {}
    for variant in variants:
        if variant.artifact.kind in TORCH_KINDS:
            try:
                result[id(variant)] = _torch_cost(variant.artifact)[1]
            except Exception:  # noqa: BLE001  (count_flops has already warned about this model)
                continue
    return result


def _preference(variant: Variant) -> int:
    """Which member of a group to count: the checkpoint itself, then the fp32 ONNX, then the rest."""
    if variant.artifact.kind in TORCH_KINDS:
        return 0
    return 1 if variant.precision == "fp32" else 2


def count_flops(variants: list[Variant]) -> tuple[dict[int, int | None], list[str]]:
    """FLOPs per sample for each variant (keyed by ``id(variant)``), and warnings for the unknown ones.

    Every variant of one checkpoint does the same useful arithmetic whatever its precision or
    graph rewrites, so one count per group is shared by all its members: that of the run dir
    when it is in the sweep, else of the fp32 ONNX file, else of any member that can be counted.
    """
    warnings: list[str] = []
    groups: dict[str, list[Variant]] = {}
    for variant in variants:
        groups.setdefault(variant.group, []).append(variant)
    result: dict[int, int | None] = {}
    for members in groups.values():
        flops = None
        for variant in sorted(members, key=_preference):
            artifact = variant.artifact
            try:
                if artifact.kind in TORCH_KINDS:
                    flops = _torch_cost(artifact)[0]
                elif artifact.kind == "onnx":
                    flops = onnx_flops(artifact.path)
            except Exception as exc:  # a counter's failure costs the roofline column, not the benchmark
                warnings.append(f"could not count the FLOPs of {artifact.name}: {type(exc).__name__}: {exc}")
            if flops is not None:
                break
        for variant in members:
            result[id(variant)] = flops
    unknown = sorted({v.artifact.name for v in variants if result[id(v)] is None})
    if unknown:
        warnings.append(f"no FLOP count for {', '.join(unknown)}: pct_of_peak is left empty")
    return result, warnings
