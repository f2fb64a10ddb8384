"""Cold start and peak memory, measured honestly: one fresh process per configuration.

In the benchmarking process every model is already loaded and the allocator has grown for the
largest batch of every configuration, so neither a load time nor a memory high-water mark taken
there belongs to one configuration. Each configuration therefore gets its own short-lived
Python process that:

1. imports ``ganedge.sdk`` (``import_s``; interpreter start-up itself is not included),
2. reads its RSS (``rss_before_load_mb``: Python + numpy + ganedge, no runtime yet),
3. ``sdk.load(...)`` (``load_s``: runtime import, session/engine creation, weights),
4. one ``sample(batch_size)`` (``first_call_s``: lazy initialisation, allocation, kernel choice),
5. ``steady_calls`` more calls, so the steady state's buffers are counted too,
6. reports ``peak_mem_mb``: the process's RSS high-water mark (``VmHWM``) — what a
   deployment of this model at this batch size needs, interpreter included — and
   ``peak_mem_delta_mb`` = peak - ``rss_before_load_mb``: what the model, its runtime and this
   batch size add. On CUDA with the torch backend, torch's device high-water mark too.

``cold_start_s`` in a row is ``load_s + first_call_s``: from "I have the file" to the first
images, the cost an application pays once per process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from ganedge.procmem import peak_rss_mb, rss_mb

STEADY_CALLS = 1


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Runs inside the fresh process; ``spec``: path, load_kwargs, batch_size, seed, steady_calls."""
    from ganedge.bench.variants import balanced_labels

    begin = time.perf_counter()
    from ganedge import sdk

    import_s = time.perf_counter() - begin
    rss_before = rss_mb()
    begin = time.perf_counter()
    generator = sdk.load(spec["path"], **spec["load_kwargs"])
    load_s = time.perf_counter() - begin
    batch, seed = int(spec["batch_size"]), int(spec.get("seed", 0))
    labels = balanced_labels(generator.manifest, batch)
    begin = time.perf_counter()
    generator.sample(batch, seed=seed, batch_size=batch, labels=labels)
    first_call_s = time.perf_counter() - begin
    steady = []
    for i in range(int(spec.get("steady_calls", STEADY_CALLS))):
        begin = time.perf_counter()
        generator.sample(batch, seed=seed + (i + 1) * batch, batch_size=batch, labels=labels)
        steady.append(time.perf_counter() - begin)
    result: dict[str, Any] = {
        "import_s": import_s,
        "load_s": load_s,
        "first_call_s": first_call_s,
        "steady_call_s": min(steady) if steady else None,
        "rss_before_load_mb": rss_before,
        "peak_mem_mb": peak_rss_mb(),
    }
    if rss_before is not None:
        result["peak_mem_delta_mb"] = result["peak_mem_mb"] - rss_before
    torch = sys.modules.get("torch")
    if torch is not None and generator.device.startswith("cuda"):
        result["peak_gpu_mem_mb"] = torch.cuda.max_memory_allocated() / 2**20
    generator.close()
    return result


def run_in_subprocess(spec: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """Measure one configuration in a fresh interpreter; raises RuntimeError with the child's last line."""
    begin = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "ganedge.bench.coldstart", json.dumps(spec)],
                              capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"timed out after {timeout_s:.0f} s") from None
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or [f"exit {proc.returncode}"]
        raise RuntimeError(lines[-1])
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise RuntimeError(f"no result on its stdout ({proc.stdout.strip()[-200:]!r})") from None
    result["process_s"] = time.perf_counter() - begin  # interpreter start to exit, as the parent saw it
    return result


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m ganedge.bench.coldstart SPEC_JSON (used by ganedge bench)")
    print(json.dumps(measure(json.loads(args[0]))))


if __name__ == "__main__":
    main()
