"""fp32 export -> fp16 model for the page, through the same converter and gate as ``export onnx``.

In the browser fp16 halves the download; onnxruntime-web's WebAssembly CPU kernels compute in
fp32 (Casts are inserted around fp16 nodes), so it does not make sampling faster. Needs onnx and
onnxruntime (``pip install 'ganedge[train,cpu]'``).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from ganedge.errors import ValidationError
from ganedge.extras import MissingExtraError, require
from ganedge.images import psnr
from ganedge.artifacts.manifest import Manifest

GATE_SEEDS = 64


def convert_fp16(path: Path, manifest: Manifest) -> tuple[bytes, dict[str, Any]]:
    """Bytes of the fp16 model and the gate's figures; ValidationError if it fails the fp16 gate."""
    try:
        onnx = require("onnx", "--precision fp16 (converting the model)")
    except MissingExtraError as exc:
        raise MissingExtraError(f"{exc}, or pass an fp16 export made by `ganedge export onnx --precision fp16`",
                                exc.module, exc.provider) from None
    from ganedge.artifacts.onnx_meta import set_manifest
    from ganedge.export.precision import to_fp16
    from ganedge.export.settings import Gates
    from ganedge.sdk import load

    half_manifest = manifest.replace(precision="fp16")
    half = to_fp16(onnx.load(str(path)))
    set_manifest(half, half_manifest)
    data = half.SerializeToString()
    labels = [s % manifest.num_classes for s in range(GATE_SEEDS)] if manifest.num_classes else None
    with tempfile.TemporaryDirectory() as tmp:
        half_path = Path(tmp) / "model.fp16.onnx"
        half_path.write_bytes(data)
        with load(path, backend="onnxruntime", device="cpu") as ref, \
                load(half_path, backend="onnxruntime", device="cpu") as cand:
            a = ref.sample(GATE_SEEDS, seed=0, labels=labels)
            b = cand.sample(GATE_SEEDS, seed=0, labels=labels)
    value, floor = psnr(a, b), Gates().min_psnr_fp16
    figures = {"precision": "fp16", "seeds": f"0-{GATE_SEEDS - 1}", "psnr_db": None if math.isinf(value) else value,
               "min_psnr_db": floor, "bytes": len(data), "fp32_bytes": path.stat().st_size}
    if not value >= floor:
        raise ValidationError(f"the fp16 conversion of {path} fails its gate: PSNR {value:.2f} dB < {floor:g} dB against "
                              "fp32 on seeds 0-63; ship the fp32 model (leave out --precision)")
    return data, figures
