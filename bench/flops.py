"""FLOPs per generated image, counted from the model itself (a FLOP = one multiply or one add).

* Run dirs: torch's ``FlopCounterMode`` on one forward pass at batch 1: 2 x the
  multiply-accumulates of matmuls and convolutions, transposed ones included.
* ONNX files: the export package's graph counter (``ganedge.export.flops.count_flops``), the
  same 2 x MACs plus one FLOP per element of bias adds and activations — a fraction of a
  percent more for a conv generator.
* Engines: not countable from the engine; their group's count is used.

One count per checkpoint, shared by every variant of it (see :func:`count_flops`): % of peak
is then *model* FLOPs utilisation, as in MFU. An int8 graph whose stride-2 ConvTransposes were
rewritten to sub-pixel Convs executes 2.25x as many FLOPs for those layers (zeros included),
but it does not do more useful work, so it is not credited with them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ganedge.bench.variants import Variant


def onnx_counter() -> Callable[[str | Path], int] | None:
    """FLOPs per sample of an ONNX file, by the export package's counter; None without onnx."""
    try:
        import onnx
        from ganedge.export.flops import count_flops
    except ImportError:
        return None

    def flops_per_sample(path: str | Path) -> int:
        # Shapes come from the graph and the initializers' dims; their values are not needed.
        return int(count_flops(onnx.load(str(path), load_external_data=False)).total)

    return flops_per_sample


def run_dir_flops(run_dir: str | Path) -> int:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from ganedge.models.load import load_generator

    generator, config, _ = load_generator(run_dir)
    z = torch.zeros(1, config.model.latent_dim)  # (1, latent_dim)
    labels = torch.zeros(1, dtype=torch.long) if config.model.num_classes else None
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        generator(z, labels)
    return int(counter.get_total_flops())


def _preference(variant: Variant) -> int:
    """Which member of a group to count: the checkpoint itself, then the fp32 ONNX, then the rest."""
    if variant.artifact.kind == "run_dir":
        return 0
    return 1 if variant.precision == "fp32" else 2


def count_flops(variants: list[Variant]) -> tuple[dict[int, int | None], list[str]]:
    """FLOPs per sample for each variant (keyed by ``id(variant)``), and warnings for the unknown ones.

    Every variant of one checkpoint does the same useful arithmetic whatever its precision or
    graph rewrites, so one count per group is shared by all its members: that of the run dir
    when it is in the sweep, else of the fp32 ONNX file, else of any member that can be counted.
    """
    warnings: list[str] = []
    counter = onnx_counter()
    groups: dict[str, list[Variant]] = {}
    for variant in variants:
        groups.setdefault(variant.group, []).append(variant)
    result: dict[int, int | None] = {}
    for members in groups.values():
        flops = None
        for variant in sorted(members, key=_preference):
            artifact = variant.artifact
            try:
                if artifact.kind == "run_dir":
                    flops = run_dir_flops(artifact.path)
                elif artifact.kind == "onnx" and counter is not None:
                    flops = int(counter(artifact.path))
            except Exception as exc:  # a counter's failure costs the roofline column, not the benchmark
                warnings.append(f"could not count the FLOPs of {artifact.name}: {type(exc).__name__}: {exc}")
            if flops is not None:
                break
        for variant in members:
            result[id(variant)] = flops
    unknown = sorted({v.artifact.name for v in variants if result[id(v)] is None})
    if unknown:
        why = "" if counter is not None else " (ganedge.export.flops is not available)"
        warnings.append(f"no FLOP count for {', '.join(unknown)}{why}: pct_of_peak is left empty")
    return result, warnings
