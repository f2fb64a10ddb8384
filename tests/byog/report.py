"""The bring-your-own-generator table: every zoo generator exported at all precisions, then timed.

    python -m tests.byog.report [--out DIR] [--duration S]

Per generator: parameters, export seconds, the batch decision (and why), fp16 nodes kept in fp32,
the fp32 gate's max error, fp16 PSNR, whether int8 was offered and its PSNR, and images/s of
onnxruntime (the fp32 export) against torch eager (the module itself) at batch 1 and 64, measured
side by side in one ``ganedge bench`` run per generator. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tests.byog import catalog


def _row(entry: catalog.ByogGenerator, out: Path, duration: float) -> str:
    from ganedge.bench.core import BenchConfig, run_bench
    from ganedge.export.pipeline import ExportOptions, export_onnx
    from ganedge.models.reference import ModuleSpec

    spec = ModuleSpec(latent_dim=entry.latent_dim, num_classes=entry.num_classes, output_range=entry.output_range)
    params = sum(p.numel() for p in catalog.build(entry).parameters())
    started = time.perf_counter()
    options = ExportOptions(precisions=("fp32", "fp16", "int8"), skip_unoffered_int8=True, fd=False)
    result = export_onnx(entry.ref, out / f"{entry.name}.onnx", options, spec=spec)
    seconds = time.perf_counter() - started
    by = {v.precision: v for v in result.variants}
    fp32, fp16, int8 = by["fp32"], by.get("fp16"), by.get("int8")
    if int8 is None or int8.gate is None:
        int8_text = f"no ({int8.skipped if int8 else 'not built'})"
    else:
        int8_text = f"{'yes' if int8.written else 'failed gate'}, {int8.gate.images.psnr_db:.1f} dB"
    load = {"latent_dim": entry.latent_dim, "num_classes": entry.num_classes, "output_range": list(entry.output_range)}
    bench = run_bench(BenchConfig(models=(entry.ref, str(fp32.path)), precisions=("fp32",), batch_sizes=(1, 64),
                                  duration_s=duration, cold_start=False, roofline=False, module_options=load),
                      progress=False)
    speed = {(r["backend"], r["batch_size"]): r["images_per_s"] for r in bench.results}

    def ratio(b: int) -> str:
        ort, torch = speed.get(("onnxruntime", b)), speed.get(("torch", b))
        return f"{ort:,.0f} vs {torch:,.0f} ({ort / torch:.1f}x)" if ort and torch else "-"

    kept = len(fp16.kept_fp32) if fp16 and fp16.gate is not None else "-"
    psnr16 = f"{fp16.gate.images.psnr_db:.1f}" if fp16 and fp16.gate is not None else "-"
    return (f"| {entry.name} | {params:,} | {seconds:.1f} | {result.batch} | {kept} | {fp32.gate.stats.max_abs:.2g} | "
            f"{psnr16} | {int8_text} | {ratio(1)} | {ratio(64)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="where the exports go (default: a temporary folder)")
    parser.add_argument("--duration", type=float, default=2.0, help="timed seconds per configuration")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="ganedge-byog-"))
    print("| generator | params | export s | batch | fp16 nodes kept fp32 | fp32 max err | fp16 PSNR dB | int8 "
          "| img/s b1: ORT vs torch | img/s b64: ORT vs torch |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for entry in catalog.GENERATORS:
        print(_row(entry, out, args.duration), flush=True)


if __name__ == "__main__":
    main()
