"""The one optimization profile of an engine: batch sizes MIN:OPT:MAX (pure Python).

``--batch 1:8:64`` builds kernels tuned for 8 that accept any batch from 1 to 64;
``--batch 64`` is short for ``1:64:64`` ("up to 64, tuned for 64"). An ONNX whose batch
dimension is fixed (not symbolic) only admits that batch, so its profile is ``B:B:B``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ganedge.errors import BadInputError

DEFAULT_PROFILE = "1:64:256"
MAX_PROFILE_BATCH = 1 << 16  # a typo like 1:8:6400000 should fail here, not as a 40 GB build


@dataclass(frozen=True)
class BatchProfile:
    min: int
    opt: int
    max: int

    def __post_init__(self) -> None:
        if not 1 <= self.min <= self.opt <= self.max:
            raise BadInputError(f"batch profile {self} must satisfy 1 <= MIN <= OPT <= MAX")

    def __str__(self) -> str:
        return f"{self.min}:{self.opt}:{self.max}"

    def to_dict(self) -> dict[str, int]:
        return {"min": self.min, "opt": self.opt, "max": self.max}

    @classmethod
    def from_dict(cls, data: object, where: str = "profile") -> "BatchProfile":
        try:
            return cls(int(data["min"]), int(data["opt"]), int(data["max"]))  # type: ignore[index]
        except (KeyError, TypeError, ValueError):
            raise BadInputError(f"{where}: expected {{min, opt, max}} batch sizes, got {data!r}") from None


def _parse_int(text: str, spec: str) -> int:
    text = text.strip()
    # int() alone would accept "+8", " 8 ", "8_000" and "٨"; a batch size is plain ASCII digits.
    if not text.isascii() or not text.isdigit():
        raise BadInputError(f"--batch {spec!r}: {text!r} is not a whole number; use e.g. 1:8:64 or 64")
    return int(text)


def parse_profile(spec: str | None, static_batch: int | None = None) -> BatchProfile:
    """Parse ``MIN:OPT:MAX`` or ``N`` (= ``1:N:N``) and check it against the ONNX's batch dimension.

    ``static_batch`` is the ONNX input's fixed batch size, or None when it is symbolic/dynamic.
    ``spec=None`` means the default: :data:`DEFAULT_PROFILE`, or ``B:B:B`` for a fixed batch B.
    """
    if spec is None:
        if static_batch is not None:
            return BatchProfile(static_batch, static_batch, static_batch)
        spec = DEFAULT_PROFILE
    if not isinstance(spec, str) or not spec.strip():
        raise BadInputError("--batch is empty; use MIN:OPT:MAX (e.g. 1:8:64) or a single maximum (e.g. 64)")
    parts = spec.split(":")
    if len(parts) == 1:
        n = _parse_int(parts[0], spec)
        # With a fixed ONNX batch, "N" can only mean exactly N.
        values = (n, n, n) if static_batch is not None else (1, n, n)
    elif len(parts) == 3:
        values = tuple(_parse_int(p, spec) for p in parts)
    else:
        raise BadInputError(f"--batch {spec!r} has {len(parts)} fields; use MIN:OPT:MAX (e.g. 1:8:64) or one number")
    lo, opt, hi = values
    if min(values) < 1:
        raise BadInputError(f"--batch {spec!r}: batch sizes must be >= 1")
    if not lo <= opt <= hi:
        raise BadInputError(f"--batch {spec!r}: sizes must satisfy MIN <= OPT <= MAX (got {lo}, {opt}, {hi})")
    if hi > MAX_PROFILE_BATCH:
        raise BadInputError(f"--batch {spec!r}: MAX {hi} is above the limit {MAX_PROFILE_BATCH}")
    if static_batch is not None:
        if hi > static_batch:
            raise BadInputError(
                f"--batch {spec!r}: MAX {hi} is above the ONNX's fixed batch size {static_batch}; "
                f"use --batch {static_batch} or re-export the ONNX with a dynamic batch dimension")
        if lo < static_batch:
            raise BadInputError(
                f"--batch {spec!r}: the ONNX has a fixed batch size {static_batch}, so the profile must be "
                f"{static_batch}:{static_batch}:{static_batch}; re-export with a dynamic batch for others")
    return BatchProfile(lo, opt, hi)
