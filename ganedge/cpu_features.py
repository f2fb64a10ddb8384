"""What this CPU can compute natively: its model name and the ISA extensions that decide how fast
bf16 and int8 run (matrix units such as AMX, dot-product instructions such as AVX512-BF16 and VNNI).

Read from ``/proc/cpuinfo`` (Linux); elsewhere the model name comes from :mod:`platform` and no
flags are known, so nothing counts as native and reduced precisions are refused rather than
emulated slowly. Framework-free: the SDK, bench and export all ask the same question here.
"""

from __future__ import annotations

import functools
import platform
from dataclasses import dataclass

# Extensions that change low-precision speed, in the order reports list them.
PRECISION_FLAGS = ("avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16",
                   "amx_tile", "amx_bf16", "amx_int8", "amx_fp16")
# A CPU executes bf16 arithmetic natively (not by widening to fp32 in software) with one of these.
BF16_FLAGS = ("avx512_bf16", "amx_bf16")
# ... and int8 dot products with one of these (without them int8 is widened to int16/int32 first).
INT8_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


@dataclass(frozen=True)
class CpuFeatures:
    model: str
    flags: frozenset[str]

    @property
    def precision_flags(self) -> list[str]:
        """The extensions of :data:`PRECISION_FLAGS` this CPU has, for reports."""
        return [f for f in PRECISION_FLAGS if f in self.flags]

    @property
    def native_bf16(self) -> bool:
        return any(f in self.flags for f in BF16_FLAGS)

    @property
    def native_int8(self) -> bool:
        return any(f in self.flags for f in INT8_FLAGS)

    @property
    def amx(self) -> bool:
        return "amx_tile" in self.flags or "amx_bf16" in self.flags or "amx_int8" in self.flags

    def matrix_units(self) -> str:
        """One phrase naming what runs bf16/int8 matrix products here, for messages and reports."""
        if self.amx:
            return "AMX (" + ", ".join(f for f in ("amx_bf16", "amx_int8") if f in self.flags) + ")"
        units = [name for flag, name in (("avx512_bf16", "AVX512-BF16"), ("avx512_vnni", "AVX512-VNNI"),
                                         ("avx_vnni", "AVX-VNNI")) if flag in self.flags]
        if units:
            return ", ".join(units) + " (no AMX)"
        return "no bf16/int8 dot-product instructions (" + ("AVX-512" if "avx512f" in self.flags else
                                                            "AVX2" if "avx2" in self.flags else "no AVX2") + ")"


def _read_cpuinfo(path: str = "/proc/cpuinfo") -> tuple[str, frozenset[str]]:
    model, flags = "", frozenset()
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not model:
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:  # x86 / aarch64 spelling
                    flags = frozenset(value.split())
                if model and flags:
                    break
    except OSError:
        pass
    return model, flags


@functools.lru_cache(maxsize=1)
def cpu_features() -> CpuFeatures:
    """This machine's CPU (read once per process)."""
    model, flags = _read_cpuinfo()
    return CpuFeatures(model=model or platform.processor() or platform.machine() or "unknown CPU", flags=flags)
