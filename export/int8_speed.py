"""Is int8 worth offering here? fp32 and int8 side by side on each installed CPU runtime, at export time.

Whether static int8 beats fp32 depends on the model (DCGAN's ConvTransposes had no fast int8
kernel in onnxruntime until rewritten as sub-pixel Convs; an MLP's small Gemms gained nothing),
on the runtime (onnxruntime's MLAS, OpenVINO's oneDNN) and on the CPU (VNNI or AMX give int8 a
2-4x higher ceiling; without them int8 is widened). A fixed table per architecture cannot know
the last two, so ``ganedge export onnx`` measures on the machine at hand: both graphs load
through the SDK's own runners (onnxruntime, and OpenVINO with fp32 float layers when installed)
and are timed in interleaved rounds (:func:`ganedge.sdk.autoselect.measure`) at batch 1 and 64,
about :data:`SECONDS` each. int8 is offered when it is at least :data:`OFFER_MARGIN` faster than
fp32 on some installed runtime at some batch size; the figures go into the export report and the
int8 file's manifest (``export.int8_speed``), with the CPU they were measured on.
"""

from __future__ import annotations

import importlib.util
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OFFER_MARGIN = 1.10  # int8 must be this much faster than fp32 somewhere: the SDK's auto margin over noise
BATCH_SIZES = (1, 64)
SECONDS = 0.5  # per runtime and batch size, both graphs together


@dataclass
class Int8Speed:
    """images/s of fp32 and int8 per runtime and batch size, and the verdict."""

    figures: list[dict[str, Any]] = field(default_factory=list)  # {runtime, batch, batch_measured, fp32, int8, ratio}
    cpu: str = ""
    matrix_units: str = ""
    threads: int = 0

    @property
    def best(self) -> dict[str, Any] | None:
        return max(self.figures, key=lambda f: f["ratio"]) if self.figures else None

    @property
    def offered(self) -> bool:
        best = self.best
        return best is not None and best["ratio"] >= OFFER_MARGIN

    def summary(self) -> str:
        """One line: every ratio, e.g. 'int8 vs fp32: onnxruntime b1 x1.18, b64 x1.45; openvino b1 x2.0, b64 x2.6'."""
        parts: dict[str, list[str]] = {}
        for f in self.figures:
            parts.setdefault(f["runtime"], []).append(f"b{f['batch']} x{f['ratio']:.2f}")
        text = "; ".join(f"{runtime} {', '.join(items)}" for runtime, items in parts.items())
        return f"int8 vs fp32 images/s on this {self.cpu} ({self.threads} threads): {text}"

    def to_dict(self) -> dict[str, Any]:
        return {"figures": self.figures, "offered": self.offered, "margin": OFFER_MARGIN, "cpu": self.cpu,
                "matrix_units": self.matrix_units, "threads": self.threads}


def _runners(fp32_path: Path, int8_path: Path, manifest, threads: int | None) -> dict[str, dict[str, Any]]:
    """runtime -> {"fp32": runner, "int8": runner} for every installed CPU runtime."""
    from ganedge.sdk.backends.onnxrt.runner import OnnxRuntimeRunner

    runners = {"onnxruntime": {"fp32": OnnxRuntimeRunner(fp32_path, manifest, "cpu", threads),
                               "int8": OnnxRuntimeRunner(int8_path, manifest.replace(precision="int8"), "cpu", threads)}}
    if importlib.util.find_spec("openvino") is not None:
        from ganedge.sdk.backends.openvino.runner import OpenVinoRunner

        runners["openvino"] = {p: OpenVinoRunner(path, manifest.replace(precision=p), "cpu", threads, precision="fp32")
                               for p, path in (("fp32", fp32_path), ("int8", int8_path))}
    return runners


def measure_int8_speed(fp32_model, int8_model, manifest, threads: int | None = None,
                       batch_sizes: tuple[int, ...] = BATCH_SIZES, seconds: float = SECONDS) -> Int8Speed:
    """Time ``fp32_model`` and ``int8_model`` (``onnx.ModelProto``s) side by side on every installed CPU runtime."""
    from ganedge.cpu_features import cpu_features
    from ganedge.sdk.autoselect import measure
    from ganedge.sdk.backends.onnxrt.loader import check_threads

    features = cpu_features()
    speed = Int8Speed(cpu=features.model, matrix_units=features.matrix_units(), threads=check_threads(threads))
    with tempfile.TemporaryDirectory(prefix="ganedge-int8-speed-") as tmp:
        paths = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        for model, path in zip((fp32_model, int8_model), paths):
            path.write_bytes(model.SerializeToString())
        runners = _runners(*paths, manifest, speed.threads)
        try:
            for runtime, pair in runners.items():
                for batch in batch_sizes:
                    timed = measure(pair, batch, seconds)
                    rates = timed["images_per_s"]
                    speed.figures.append({"runtime": runtime, "batch": batch, "batch_measured": timed["batch_measured"],
                                          "fp32": rates["fp32"], "int8": rates["int8"],
                                          "ratio": round(rates["int8"] / rates["fp32"], 3)})
        finally:
            for pair in runners.values():
                for runner in pair.values():
                    runner.close()
    return speed
