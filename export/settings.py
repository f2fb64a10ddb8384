"""Per-architecture export settings: opset, gates, and what each precision is worth there.

One place (after Optimum's per-model ``OnnxConfig``): the exporter is generic over
generators and reads everything architecture-specific from here. ``Gates`` holds the default
tolerances (docs/contract.md, "Precision gates"); every one can be overridden per call
(``--atol``, ``--min-psnr``, ...), and the report always names the value that was applied.

``int8_offered`` is a measured fact, not a guess: static int8 is only written where it beat
fp32 side by side on CPU (``ganedge bench model.onnx model.int8.onnx``, interleaved in one process;
numbers in the comment of each entry, and the full table in bench/README.md).
Framework-free on purpose, so ``inspect`` and the CLI's help read it without torch.
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
    # int8: offered only where it was measured faster than fp32 on CPU.
    int8_offered: bool = True
    int8_not_offered_reason: str = ""
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
    # DCGAN: stride-2 ConvTranspose stack. Plain static int8 is slower than fp32 in onnxruntime
    # (its ConvTranspose has no fast int8 kernel); after the sub-pixel rewrite int8 won at every
    # size measured: dcgan-32 x1.18 (batch 1) / x1.45 (batch 64), dcgan-64 x1.10 / x1.39.
    "dcgan": ExportSettings(arch="dcgan"),
    # MLP: three Gemms. Measured side by side (interleaved, one process; mlp-32, width 128, three runs on the
    # shared 2-core box): int8 with the pixel layer kept in float lost at batch 1 (-14..-26%) and tied
    # at batch 64; quantizing every layer still lost at batch 1 (-4..-28%), won at batch 64
    # (+18..29%, noise 5-20%) and left PSNR at 32 dB, just above the gate. No dependable win.
    "mlp": ExportSettings(
        arch="mlp",
        subpixel_rewrite=False,
        int8_offered=False,
        int8_not_offered_reason=(
            "int8 is not offered for the mlp architecture: in side-by-side CPU benchmarks its int8 Gemms were "
            "slower than fp32 at batch 1 and gained at batch 64 only with every layer quantized, at 32 dB PSNR; "
            "export fp32 or fp16 instead"
        ),
    ),
    # SN-ResNet: Conv + nearest Resize, no ConvTranspose (the rewrite finds nothing to do). Measured
    # side by side (resnet-32, width 64): int8 x1.29 at batch 1, x1.36 at batch 64 (noise 14-37%),
    # PSNR 33.8 dB against fp32 (above the 30 dB gate, below DCGAN's ~60 dB: residual adds quantize
    # less gracefully), so int8 is offered and its gate (PSNR + FD) decides per model.
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
# structure ahead of time, so every precision is offered and each model's own gate decides.
FOREIGN = ExportSettings(arch="foreign")


def settings_for_source(arch: str, is_run_dir: bool) -> ExportSettings:
    """A run's architecture settings, or :data:`FOREIGN` for a generator ganedge did not train."""
    return settings_for(arch) if is_run_dir else FOREIGN
