"""Helpers for the examples' tests: tiny real models, PNG decoding, a server subprocess.

The models are tiny (16x16, width 8) so two CI cores can serve 64 clients, but their last layer
is scaled (``write_random_run``'s ``gain``) so images span [-1, 1] and differ from seed to seed: a
fresh DCGAN puts out flat grey, and a test that compares images of different seeds would then pass
even if seeds were mixed up.
"""

from __future__ import annotations

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
    from ganedge.models.random_run import write_random_run

    return write_random_run(folder, arch, size, latent_dim, num_classes, width, seed, gain=gain, step=1)


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
