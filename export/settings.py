"""Per-architecture export settings: opset, gates, and how each precision is built there.

One place (after Optimum's per-model ``OnnxConfig``): the exporter is generic over
generators and reads everything architecture-specific from here. ``Gates`` holds the default
tolerances (docs/contract.md, "Precision gates"); every one can be overridden per call
(``--atol``, ``--min-psnr``, ...), and the report always names the value that was applied.

Whether int8 is worth offering is not a setting: it depends on the CPU and the installed
runtimes as much as on the architecture, so it is measured on the machine at hand at export
time (``ganedge.export.int8_speed``). Framework-free on purpose, so ``inspect`` and the CLI's
help read it without torch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ganedge.errors import BadInputError, ConfigError

PRECISIONS = ("fp32", "fp16", "int8")
MIN_OPSET = 18  # torch.onnx's dynamo exporter has no implementations below 18
MAX_OPSET = 23  # newest opset onnxruntime 1.32 runs and our tests cover
TENSORRT_MAX_OPSET = 20  # TensorRT 10.0's parser; later 10.x parse newer opsets


@dataclass(frozen=True)
class Gates:
    """Tolerances a variant must meet to be written (docs/contract.md, "Precision gates")."""

    atol: float = 1e-4  # fp32: max |ONNX - PyTorch| on the float output
    max_uint8_diff: int = 1  # fp32: uint8 images differ by at most this many levels
    min_psnr_fp16: float = 40.0  # fp16: PSNR (dB) against fp32 on uint8 images
    min_psnr_int8: float = 30.0  # int8: PSNR (dB) against fp32 on uint8 images
    max_fd_increase: float = 0.10  # int8: FD may be worse than fp32's by at most this fraction

    def min_psnr(self, precision: str) -> float | None:
        return {"fp16": self.min_psnr_fp16, "int8": self.min_psnr_int8}.get(precision)

    def override(self, *, atol: float | None = None, min_psnr: float | None = None,
                 max_uint8_diff: int | None = None, max_fd_increase: float | None = None,
                 precision: str | None = None) -> "Gates":
        """A copy with the user's overrides; ``min_psnr`` applies to ``precision`` (or to both variants)."""
        changes: dict[str, float | int] = {}
        for name, value in (("atol", atol), ("max_uint8_diff", max_uint8_diff), ("max_fd_increase", max_fd_increase)):
            if value is not None:
                if value < 0:
                    raise BadInputError(f"--{name.replace('_', '-')} must be >= 0, got {value}")
                changes[name] = value
        if min_psnr is not None:
            if precision in (None, "fp16", "all"):
                changes["min_psnr_fp16"] = min_psnr
            if precision in (None, "int8", "all"):
                changes["min_psnr_int8"] = min_psnr
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class ExportSettings:
    """Everything architecture-specific the exporter needs."""

    arch: str
    opset: int = 20
    gates: Gates = Gates()
    # Validation: one batch per size, consecutive seeds (1 + 7 + 64 = 72 images).
    validation_batch_sizes: tuple[int, ...] = (1, 7, 64)
    first_seed: int = 0
    subpixel_rewrite: bool = True  # ConvTranspose -> Conv + DepthToSpace before quantizing
    calibration_samples: int = 256
    calibration_seed: int = 1_000_000  # far from the validation seeds, so the gate is not graded on its own calibration
    per_channel: bool = True
    # Keep the last layer (the one writing pixels) in float: int8 there costs visible banding for little speed.
    exclude_last_layer_from_int8: bool = True
    fd_samples: int | None = None  # None: the Evaluator's default (2000, fewer for small datasets)

    def validation_seeds(self) -> list[list[int]]:
        """Seeds per validation batch: [[0], [1..7], [8..71]] for the defaults."""
        batches, start = [], self.first_seed
        for size in self.validation_batch_sizes:
            batches.append(list(range(start, start + size)))
            start += size
        return batches


_SETTINGS = {
    # DCGAN: stride-2 ConvTranspose stack. onnxruntime has no fast int8 ConvTranspose, so before
    # quantizing, each is rewritten as an exactly equivalent Conv + DepthToSpace (int8 then measured
    # x1.18 at batch 1 / x1.45 at batch 64 for dcgan-32 on onnxruntime, AVX2 box; slower without it).
    "dcgan": ExportSettings(arch="dcgan"),
    # MLP: three Gemms, nothing to rewrite. Its int8 gained nothing on onnxruntime on an AVX2 box
    # (batch 1 -14..-26%, batch 64 level): export time measures it anew on each machine.
    "mlp": ExportSettings(arch="mlp", subpixel_rewrite=False),
    # SN-ResNet: Conv + nearest Resize, no ConvTranspose (the rewrite finds nothing to do); int8 PSNR
    # ~34 dB against fp32 (residual adds quantize less gracefully than DCGAN's ~60 dB), so the gate
    # (PSNR + FD) decides per model.
    "resnet": ExportSettings(arch="resnet"),
}


def settings_for(arch: str) -> ExportSettings:
    """The export settings of ``arch``; a clear error for an architecture we cannot export."""
    try:
        return _SETTINGS[arch]
    except KeyError:
        raise ConfigError(
            f"no export settings for architecture {arch!r}; ganedge exports {', '.join(sorted(_SETTINGS))}"
        ) from None


def check_opset(opset: int) -> int:
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise BadInputError(f"--opset {opset} is not supported; choose {MIN_OPSET}..{MAX_OPSET} (default 20)")
    return opset


# Generators trained elsewhere (module references, adopted ONNX files): nothing is known about their
# structure ahead of time; each model's own gate (and, for int8, its measured speed) decides.
FOREIGN = ExportSettings(arch="foreign")


def settings_for_source(arch: str, is_run_dir: bool) -> ExportSettings:
    """A run's architecture settings, or :data:`FOREIGN` for a generator ganedge did not train."""
    return settings_for(arch) if is_run_dir else FOREIGN
