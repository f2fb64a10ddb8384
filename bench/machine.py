"""The "machine" object of a bench report: what the numbers were measured on.

Versions come from package metadata, so recording them imports nothing heavy. The CPU
flags kept are the ones that decide int8/bf16/fp16 speed on a CPU (VNNI, AVX-512 BF16,
AMX, F16C: ``ganedge.cpu_features``); the load average at start and end says how busy a
shared machine was.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Any

from ganedge import __version__
from ganedge.cpu_features import cpu_features

# Packages whose version changes what a bench measures.
PACKAGES = ("numpy", "onnxruntime", "onnxruntime-gpu", "openvino", "torch", "tensorrt", "onnx")


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def cores_available() -> int:
    """Cores this process may run on (its affinity mask), which a container may cut below cpu_count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def gpu_info(device: str) -> dict[str, Any]:
    """Name, memory and compute capability of the CUDA device, when torch can see one."""
    if not device.startswith("cuda"):
        return {}
    try:
        import torch
    except ImportError:
        return {"gpu_name": None}
    if not torch.cuda.is_available():
        return {"gpu_name": None}
    index = torch.device(device).index or 0
    props = torch.cuda.get_device_properties(index)
    return {
        "gpu_name": props.name,
        "gpu_memory_gb": round(props.total_memory / 2**30, 1),
        "compute_capability": f"{props.major}.{props.minor}",
        "cuda_version": torch.version.cuda,
        "driver": _nvidia_driver(),
    }


def _nvidia_driver() -> str | None:
    try:
        with open("/proc/driver/nvidia/version", encoding="utf-8") as handle:
            first = handle.readline()
    except OSError:
        return None
    words = first.split()
    return next((w for w in words if w[:1].isdigit() and "." in w), None)


def describe_machine(threads: int, devices: list[str]) -> dict[str, Any]:
    """``devices``: where the sweep's variants run (e.g. ["cpu", "cuda:0"])."""
    cpu = cpu_features()
    info: dict[str, Any] = {
        "hostname": platform.node(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "ganedge": __version__,
        "cpu_model": cpu.model,
        "cpu_flags": cpu.precision_flags,  # the ISA extensions that decide bf16/int8/fp16 speed
        "cpu_matrix_units": cpu.matrix_units(),
        "cpu_count": os.cpu_count(),
        "cores_available": cores_available(),
        "threads": threads,
        "devices": devices,
        "load_average_start": load_average(),
        "versions": package_versions(),
    }
    try:
        import psutil  # the bench extra; only for total memory and physical cores

        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
        info["physical_cores"] = psutil.cpu_count(logical=False)
    except ImportError:
        pass
    gpu = next((d for d in devices if d.startswith("cuda")), None)
    if gpu:
        info.update(gpu_info(gpu))
    return info
