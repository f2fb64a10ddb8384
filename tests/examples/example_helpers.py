"""Helpers for the examples' tests: tiny real models, PNG decoding, a server subprocess.

The models are tiny (16x16, width 8) so two CI cores can serve 64 clients, but their last layer
is scaled so images span [-1, 1] and differ from seed to seed: a fresh DCGAN puts out flat grey,
and a test that compares images of different seeds would then pass even if seeds were mixed up.
(tests/conftest.py's ``make_run_dir`` cannot be used: it stores one module as both G and G_ema,
which safetensors refuses as shared memory.)
"""

from __future__ import annotations

import copy
import io
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SERVER = EXAMPLES / "serve" / "server.py"


def build_run(folder: Path, arch: str = "dcgan", size: int = 16, width: int = 8, latent_dim: int = 32,
              num_classes: int = 0, gain: float = 3.0, seed: int = 0) -> Path:
    """A run directory (config.json, weights.safetensors, state.json) with a random but lively G."""
    import torch

    from ganedge.artifacts.run_dir import CONFIG_FILE, STATE_FILE, WEIGHTS_FILE, save_weights
    from ganedge.artifacts.run_config import ModelConfig, RunConfig
    from ganedge.models import build_discriminator, build_generator

    cfg = RunConfig(model=ModelConfig(arch=arch, latent_dim=latent_dim, image_shape=(3, size, size),
                                      num_classes=num_classes, g_width=width, d_width=width))
    torch.manual_seed(seed)
    g, d = build_generator(cfg.model), build_discriminator(cfg.model)
    g.train()  # BatchNorm statistics of a few batches, as a trained model has
    with torch.no_grad():
        for _ in range(3):
            labels = torch.randint(0, num_classes, (32,)) if num_classes else None
            g(torch.randn(32, latent_dim), labels)
        last = [m for m in g.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d,
                                                          torch.nn.Linear))][-1]
        last.weight.mul_(gain)
    g.eval()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG_FILE).write_text(cfg.to_json())
    save_weights(folder / WEIGHTS_FILE, {"G": g, "G_ema": copy.deepcopy(g), "D": d}, metadata={"step": 1})
    (folder / STATE_FILE).write_text(json.dumps({"step": 1}))
    return folder


def export(run: Path, output: Path) -> Path:
    """fp32 ONNX through the export pipeline; its gate is the export tests' business, not ours."""
    from ganedge.export.pipeline import ExportOptions, export_onnx

    result = export_onnx(run, output, ExportOptions(validate=False, lint=False))
    assert result.variants[0].written, result.to_dict()
    return output


def decode_png(data: bytes) -> np.ndarray:
    """PNG bytes -> uint8 (H, W, C)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        array = np.asarray(image.convert("RGB") if image.mode not in ("RGB", "L") else image)
    return array[:, :, None] if array.ndim == 2 else array


class ServerProcess:
    """``python examples/serve/server.py ... --port 0`` in a real subprocess, on loopback."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, log: Path | None = None,
                 startup_timeout: float = 90.0):
        self.log_path = log
        self._log = open(log, "wb") if log else subprocess.DEVNULL
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc = subprocess.Popen([sys.executable, str(SERVER), "--host", "127.0.0.1", "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=self._log, env=full_env)
        self.ready = self._read_ready(startup_timeout)
        self.url = self.ready["url"]

    def _read_ready(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode} before it was ready: {self.log_text()}")
            readable, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if readable:
                line = self.proc.stdout.readline()
                if line:
                    return json.loads(line)
        self.kill()
        raise AssertionError(f"server not ready within {timeout} s: {self.log_text()}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path and self.log_path.exists() else ""

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM (graceful), then SIGKILL if it hangs; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._close()

    def _close(self) -> None:
        if self.proc.stdout:
            self.proc.stdout.close()
        if self._log is not subprocess.DEVNULL and not self._log.closed:
            self._log.close()
