"""Side-by-side images/s of ONNX files on onnxruntime CPU: the evidence behind int8 decisions.

Models are timed in interleaved rounds (A, B, A, B, ...) in one process, so a noisy shared
machine slows all of them alike; each figure is the median over rounds, with the spread
(coefficient of variation) beside it. Used to set ``int8_offered`` per architecture in
export/settings.py; the bench engineer can call :func:`compare_speed` directly.

    python -m ganedge.export.speed model.onnx model.int8.onnx --batch-sizes 1,64

Measured with it on the 2-core dev box (AMD EPYC, AVX2, no VNNI) while other jobs loaded it
(load average ~9), so absolute figures are low and noisy (cv 5-40%); onnxruntime 1.32, default
threads, median of 7 interleaved rounds of 0.5 s, default widths, latent 128. images/s:
    dcgan-32 fp32 / fp16 / int8:  batch 1  38.5 / 38.9 / 45.6    batch 64  54.8 / 54.0 / 79.5
    dcgan-64 fp32 / fp16 / int8:  batch 1  10.0 / 10.8 / 11.0    batch 64  12.6 / 11.2 / 17.5
    dcgan-64 int8 *without* the sub-pixel rewrite (earlier run): slower than fp32 at both sizes
    mlp-32 fp32 / int8 / int8 all layers: batch 1  1680 / 1311 / 1388   batch 64  8945 / 8733 / 10579
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ganedge.latents import latents, seed_range


@dataclass(frozen=True)
class SpeedRow:
    model: str
    batch_size: int
    images_per_s: float  # median over rounds
    ms_per_batch: float  # median over rounds
    cv: float  # coefficient of variation of images/s across rounds
    rounds: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _inputs(session, batch: int) -> dict[str, np.ndarray]:
    feed = {}
    for meta in session.get_inputs():
        if meta.type == "tensor(int64)":
            feed[meta.name] = np.arange(batch, dtype=np.int64) % 2  # class ids 0/1 exist in any conditional model
        else:
            dim = int(meta.shape[1])
            feed[meta.name] = latents(seed_range(0, batch), dim)  # (batch, latent_dim)
    return feed


def compare_speed(models: dict[str, Any], batch_sizes=(1, 64), rounds: int = 7, seconds: float = 0.5,
                  warmup: int = 3, threads: int | None = None) -> list[SpeedRow]:
    """Median images/s of each model (name -> path, bytes or ModelProto) at each batch size, interleaved."""
    from ganedge.sdk.backends.onnxrt.loader import create_session

    sessions = {name: create_session(model, threads=threads).session for name, model in models.items()}
    rows = []
    for batch in batch_sizes:
        feeds = {name: _inputs(s, batch) for name, s in sessions.items()}
        for name, session in sessions.items():
            for _ in range(warmup):
                session.run(None, feeds[name])
        rates: dict[str, list[float]] = {name: [] for name in sessions}
        latencies: dict[str, list[float]] = {name: [] for name in sessions}
        for _ in range(rounds):
            for name, session in sessions.items():
                calls, start = 0, time.perf_counter()
                while True:
                    session.run(None, feeds[name])
                    calls += 1
                    elapsed = time.perf_counter() - start
                    if elapsed >= seconds:
                        break
                rates[name].append(calls * batch / elapsed)
                latencies[name].append(1000 * elapsed / calls)
        for name in sessions:
            r = rates[name]
            mean = statistics.fmean(r)
            rows.append(SpeedRow(model=name, batch_size=batch, images_per_s=statistics.median(r),
                                 ms_per_batch=statistics.median(latencies[name]),
                                 cv=(statistics.pstdev(r) / mean) if mean else 0.0, rounds=rounds))
    return rows


def format_rows(rows: list[SpeedRow]) -> str:
    lines = [f"{'model':40s} {'batch':>5s} {'images/s':>10s} {'ms/batch':>9s} {'cv':>6s}"]
    for row in rows:
        lines.append(f"{row.model[-40:]:40s} {row.batch_size:5d} {row.images_per_s:10.1f} {row.ms_per_batch:9.2f} "
                     f"{row.cv:6.1%}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m ganedge.export.speed", description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path, help=".onnx files to time side by side")
    parser.add_argument("--batch-sizes", default="1,64", help="comma list (default 1,64)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.5, help="per model per round")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime intra-op threads (default: all)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    from ganedge.errors import GanEdgeError
    from ganedge.artifacts.onnx_safety import check_onnx_file

    try:
        for path in args.models:
            check_onnx_file(path)
        rows = compare_speed({str(p): p for p in args.models}, [int(b) for b in args.batch_sizes.split(",")],
                             rounds=args.rounds, seconds=args.seconds, threads=args.threads)
    except GanEdgeError as exc:
        parser.exit(exc.exit_code, f"error: {exc}\n")
    print(json.dumps({"rows": [r.to_dict() for r in rows]}) if args.json else format_rows(rows))


if __name__ == "__main__":
    main()
