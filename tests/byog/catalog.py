"""What the bring-your-own-generator tests know about each test generator, in one table.

Every entry names a ``FILE.py:NAME`` module reference (absolute path) and the facts a user would
pass on the command line (``--latent-dim``, ``--num-classes``, ``--output-range``) plus what the
tests expect of it. :func:`build` and :func:`inputs` are test-side helpers that load a reference
the plain way (``importlib`` on the file) and make seed-exact inputs with ``ganedge.latents``,
so the torch-only tests do not depend on the exporter's own loader.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GENERATORS_DIR = Path(__file__).resolve().parent / "generators"


@dataclass(frozen=True)
class ByogGenerator:
    name: str  # test id
    file: str  # under generators/
    builder: str  # NAME in FILE.py:NAME
    latent_dim: int
    image_shape: tuple[int, int, int]  # (C, H, W)
    num_classes: int = 0
    output_range: tuple[float, float] = (-1.0, 1.0)
    # How torch.onnx (dynamo) handles a dynamic batch today: True, or why not.
    dynamic_batch: bool | str = True
    # What a naive float16 conversion does: "fine", "activation_overflow" (seen by torch's float16
    # and fp16 GPUs; onnxruntime's x86 CPU provider computes in float32 and hides it) or
    # "weight_range" (stored weights beyond 65504: seen everywhere).
    fp16: str = "fine"

    @property
    def path(self) -> Path:
        return GENERATORS_DIR / self.file

    @property
    def ref(self) -> str:
        """The module reference ``/abs/path/FILE.py:NAME``."""
        return f"{self.path}:{self.builder}"

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0


GROUPED_CONV = "grouped conv with groups = batch: ONNX Conv's group is an attribute"

STYLEGAN2 = ByogGenerator("stylegan2", "stylegan2.py", "build_generator", 64, (3, 32, 32), dynamic_batch=GROUPED_CONV)
FASTGAN = ByogGenerator("fastgan", "fastgan.py", "build_generator", 64, (3, 64, 64))
BIGGAN = ByogGenerator("biggan", "biggan.py", "build_generator", 80, (3, 32, 32), num_classes=10)
DCGAN_SIGMOID = ByogGenerator("dcgan_sigmoid", "dcgan_sigmoid.py", "build_generator", 100, (3, 32, 32),
                              output_range=(0.0, 1.0))
FP16_OVERFLOW = ByogGenerator("fp16_overflow", "fp16_overflow.py", "build_generator", 64, (3, 32, 32),
                              fp16="activation_overflow")
FP16_WEIGHT_RANGE = ByogGenerator("fp16_weight_range", "fp16_overflow.py", "build_generator_weight_range", 64,
                                  (3, 32, 32), fp16="weight_range")

# Generators a serious exporter must deliver (fp32 gate, fp16 with fallback where needed, any batch).
GENERATORS = (STYLEGAN2, FASTGAN, BIGGAN, DCGAN_SIGMOID, FP16_OVERFLOW, FP16_WEIGHT_RANGE)
BY_NAME = {g.name: g for g in GENERATORS}

# NVlabs' form of the same network: `batch = int(batch)` before each grouped conv, so torch.export
# itself refuses a dynamic batch ("Constraints violated"); only a fixed-batch export works as is.
# Same weights and images as STYLEGAN2; kept out of GENERATORS to keep the suite lean.
STYLEGAN2_INT_BATCH = ByogGenerator("stylegan2_int_batch", "stylegan2.py", "build_generator_int_batch", 64,
                                    (3, 32, 32), dynamic_batch="the batch is made a Python int: torch.export specializes it")

# Draws torch.randn inside forward: export must refuse it (two runs on the same input differ).
NOISE_IN_FORWARD = ByogGenerator("noise_in_forward", "noise_in_forward.py", "build_generator", 32, (3, 32, 32))

# The same weights as DCGAN_SIGMOID, left in train mode: an exporter must put it in eval mode
# (in train mode BatchNorm mixes the batch, so sample(1)[0] != sample(3)[0]).
DCGAN_TRAIN_MODE = ByogGenerator("dcgan_train_mode", "dcgan_sigmoid.py", "build_generator_train_mode", 100,
                                 (3, 32, 32), output_range=(0.0, 1.0))

HOSTILE_FILE = GENERATORS_DIR / "hostile.py"
HOSTILE_LATENT_DIM = 16
# Each must end in one line and exit code 2; the value says what is wrong with it.
HOSTILE = {
    "returns_state_dict": "the callable returns a dict (a state dict), not a torch.nn.Module",
    "NOT_CALLABLE": "NAME is an int, not a callable",
    "needs_arguments": "the callable needs an argument",
    "wrong_output_rank": "forward returns (N, 3072), not (N, C, H, W)",
    "missing_forward": "forward is misspelled: torch raises NotImplementedError",
    "forward_raises": "forward raises a RuntimeError (layer shapes do not match)",
    "float64_output": "forward returns float64 (refuse, or cast and say so)",
}


def hostile_ref(name: str) -> str:
    return f"{HOSTILE_FILE}:{name}"


MISSING_FILE_REF = f"{GENERATORS_DIR / 'no_such_file.py'}:build_generator"
MISSING_ATTRIBUTE_REF = f"{HOSTILE_FILE}:no_such_name"


def load_module(path: Path):
    """Import a generator file as the package module ``tests.byog.generators.<stem>`` (no sys.path edits)."""
    return importlib.import_module(f"tests.byog.generators.{path.stem}")


def build(entry: ByogGenerator):
    """Call the entry's builder, as ``FILE.py:NAME`` says."""
    return getattr(load_module(entry.path), entry.builder)()


def inputs(entry: ByogGenerator, seeds) -> tuple:
    """torch inputs for ``seeds``: z from ``ganedge.latents`` (a pure function of each seed) and,
    if conditional, the label ``seed % num_classes`` (the export gate's convention)."""
    import torch

    from ganedge.latents import latents

    seeds = np.asarray(seeds, dtype=np.uint64)
    z = torch.from_numpy(latents(seeds, entry.latent_dim))  # (n, latent_dim) float32
    if not entry.conditional:
        return (z,)
    return z, torch.from_numpy((seeds % np.uint64(entry.num_classes)).astype(np.int64))  # (n,) int64
