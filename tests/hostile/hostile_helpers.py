"""Builders of hostile inputs, kept apart from the fixtures so tests can call them directly.

Everything here writes real files: real ONNX models (tiny graphs built with onnx.helper, carrying a
ganedge manifest, so a loader that skipped our checks WOULD load them), real pickles whose
``__reduce__`` creates a sentinel file when unpickled, real TensorRT-style sidecars.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
LATENT, SHAPE = 8, (3, 4, 4)


# Each entry point that reads a model file, as CLI arguments around it ({out} is a fresh output path).
FILE_COMMANDS = {
    "inspect": ["inspect", "{model}"],
    "sample": ["sample", "{model}", "--seeds", "0-3", "-o", "{out}/grid.png"],
    "verify": ["verify", "{good}", "{model}", "--seeds", "0-3"],
    "export-trt": ["export", "trt", "{model}", "-o", "{out}/model.engine"],
    "export-triton": ["export", "triton", "{model}", "-o", "{out}/repo"],
    "export-web": ["export", "web", "{model}", "-o", "{out}/site"],
    "bench": ["bench", "{model}", "--batch-sizes", "1", "--duration", "0.05", "--no-cold-start", "--no-roofline"],
    "eval": ["eval", "{model}", "--n", "16"],
}


def tiny_onnx(path: Path, external: str | None = None) -> Path:
    """z (N, 8) -> MatMul -> Tanh -> Reshape -> image (N, 3, 4, 4), with the ganedge manifest.

    ``external``: store the weight W as external data at this location (written as given, so
    ``../secret`` or an absolute path can be planted; the bytes are put where it points, so a
    loader without the escape check would read them without complaint).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from ganedge.artifacts.manifest import ONNX_METADATA_KEY, Manifest

    rng = np.random.default_rng(0)
    c, h, w = SHAPE
    weight = rng.normal(0, 0.8, (LATENT, c * h * w)).astype(np.float32)
    w_init = numpy_helper.from_array(weight, "W")
    inits = [w_init, numpy_helper.from_array(np.array([-1, c, h, w], np.int64), "shape")]
    nodes = [helper.make_node("MatMul", ["z", "W"], ["h"]), helper.make_node("Tanh", ["h"], ["t"]),
             helper.make_node("Reshape", ["t", "shape"], ["image"])]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", LATENT])],
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", c, h, w])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    manifest = Manifest(arch="mlp", latent_dim=LATENT, image_shape=SHAPE, dataset="scenes")
    helper.set_model_props(model, {ONNX_METADATA_KEY: manifest.to_json()})
    onnx.checker.check_model(model)
    if external is not None:
        target = Path(external) if os.path.isabs(external) else path.parent / external
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(weight.tobytes())
        w_init = model.graph.initializer[0]  # make_graph copied the tensor: edit the model's own
        w_init.ClearField("raw_data")
        w_init.data_location = TensorProto.EXTERNAL
        for key, value in (("location", external), ("offset", "0"), ("length", str(weight.nbytes))):
            entry = w_init.external_data.add()
            entry.key, entry.value = key, value
    path.write_bytes(model.SerializeToString())
    return path


class Sentinel:
    """Unpickling this creates ``path`` (via ``open(path, "w")``): proof that a loader executed a pickle."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def evil_pickle(path: Path, sentinel: Path, kind: str | None = None) -> Path:
    """A pickle that creates ``sentinel`` when loaded. ``kind``: "pickle" (plain pickle.dumps),
    "torch" (torch.save's zip format), "torch-legacy" (torch.save's pre-1.6 format)."""
    kind = kind or {".pkl": "pickle", ".pt": "torch", ".pth": "torch-legacy"}.get(path.suffix, "pickle")
    payload = {"state_dict": Sentinel(sentinel), "step": 1}
    if kind == "pickle":
        path.write_bytes(pickle.dumps(payload, protocol=4))
    else:
        import torch

        buffer = io.BytesIO()
        torch.save(payload, buffer, _use_new_zipfile_serialization=(kind == "torch"))
        path.write_bytes(buffer.getvalue())
    return path


def pickle_is_live(path: Path, sentinel: Path) -> bool:
    """Control: unpickle ``path`` in a throwaway subprocess (as torch.load(weights_only=False) would:
    zip format -> its data.pkl; legacy format -> the fourth pickle in the stream) and report whether
    the sentinel appeared. A hostile test whose bait does not bite would pass for nothing."""
    code = ("import io, pickle, sys, zipfile\n"
            "class Unpickler(pickle.Unpickler):\n"
            "    def persistent_load(self, pid): return None  # tensor storages: not needed to run the payload\n"
            "p = sys.argv[1]\n"
            "if zipfile.is_zipfile(p):\n"
            "    z = zipfile.ZipFile(p)\n"
            "    Unpickler(io.BytesIO(z.read([n for n in z.namelist() if n.endswith('data.pkl')][0]))).load()\n"
            "else:\n"
            "    f = open(p, 'rb')\n"
            "    for _ in range(1 if p.endswith('.pkl') else 4):  # legacy torch: magic, version, sys info, object\n"
            "        Unpickler(f).load()\n")
    subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, timeout=120)
    alive = sentinel.exists()
    sentinel.unlink(missing_ok=True)
    return alive


def engine_with_sidecar(folder: Path, name: str = "model.engine", sidecar: dict | None = None,
                        engine_bytes: bytes = b"\x00TRT-not-really-an-engine" * 32) -> Path:
    """Engine bytes and, unless ``sidecar`` is None, a sidecar vouching for them (sha256 matches)."""
    from ganedge.artifacts.manifest import Manifest

    engine = folder / name
    engine.write_bytes(engine_bytes)
    if sidecar is not None:
        m = Manifest(arch="mlp", latent_dim=LATENT, image_shape=SHAPE, precision="fp16").to_dict()
        m.update(tensorrt_version="10.13.3", gpu_name="NVIDIA H100 80GB HBM3", compute_capability="9.0",
                 profile={"min": 1, "opt": 16, "max": 64}, onnx_sha256="0" * 64, onnx_file="model.onnx",
                 engine_sha256=hashlib.sha256(engine_bytes).hexdigest(), version_compatible=False)
        m.update(sidecar)
        (folder / f"{name}.json").write_text(json.dumps(m))
    return engine


def run_ganedge(*args, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    """``python -m ganedge ARGS...`` in a real subprocess."""
    return subprocess.run([sys.executable, "-m", "ganedge", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def one_line_error(err: str) -> bool:
    """What the CLI promises for user errors: ``error: ...`` on one line, no traceback."""
    lines = [line for line in err.splitlines() if line.strip()]
    return len(lines) >= 1 and lines[-1].startswith("error: ") and "Traceback" not in err
