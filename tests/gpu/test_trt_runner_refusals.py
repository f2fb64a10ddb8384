"""What the TensorRT runner refuses before (or instead of) touching TensorRT — real files, no mocks."""

import hashlib
import json
import importlib.util
import subprocess
import sys

import pytest

from ganedge.errors import ArtifactError, BackendUnavailableError, BadInputError
from ganedge.sdk.backends.tensorrt.runner import TensorRTRunner

TENSORRT_INSTALLED = importlib.util.find_spec("tensorrt") is not None

JUNK = b"this is not a TensorRT plan \x00\x01\x02" * 64


def write_engine(folder, data: bytes, sidecar: dict | None):
    engine = folder / "model.engine"
    engine.write_bytes(data)
    if sidecar is not None:
        (folder / "model.engine.json").write_text(json.dumps(sidecar))
    return engine


def test_missing_engine(tmp_path):
    with pytest.raises(ArtifactError, match="does not exist"):
        TensorRTRunner(tmp_path / "nope.engine")


def test_junk_engine_without_sidecar_is_refused(tmp_path):
    engine = write_engine(tmp_path, JUNK, None)
    with pytest.raises(ArtifactError, match="has no sidecar model.engine.json"):
        TensorRTRunner(engine)


def test_junk_engine_not_matching_its_sidecar_is_refused(tmp_path, sidecar_dict):
    sidecar_dict["engine_sha256"] = hashlib.sha256(b"the engine that was built").hexdigest()
    engine = write_engine(tmp_path, JUNK, sidecar_dict)
    with pytest.raises(ArtifactError, match="does not match its sidecar"):
        TensorRTRunner(engine)


def test_empty_engine_is_refused(tmp_path, sidecar_dict):
    engine = write_engine(tmp_path, b"", sidecar_dict)
    with pytest.raises(ArtifactError, match="is empty"):
        TensorRTRunner(engine)


def test_non_cuda_device_is_a_usage_error(tmp_path, sidecar_dict):
    sidecar_dict["engine_sha256"] = hashlib.sha256(JUNK).hexdigest()
    engine = write_engine(tmp_path, JUNK, sidecar_dict)
    with pytest.raises(BadInputError, match="CUDA devices only"):
        TensorRTRunner(engine, device="cpu")


@pytest.mark.skipif(TENSORRT_INSTALLED, reason="tensorrt is installed here")
def test_junk_engine_with_matching_sidecar_needs_tensorrt_and_says_how_to_get_it(tmp_path, sidecar_dict):
    sidecar_dict["engine_sha256"] = hashlib.sha256(JUNK).hexdigest()
    engine = write_engine(tmp_path, JUNK, sidecar_dict)
    with pytest.raises(BackendUnavailableError, match=r"pip install 'ganedge\[gpu\]'"):
        TensorRTRunner(engine)


@pytest.mark.skipif(TENSORRT_INSTALLED, reason="tensorrt is installed here")
def test_engine_without_sidecar_loads_only_with_a_manifest(tmp_path, sidecar_dict):
    from ganedge.artifacts.manifest import Manifest

    engine = write_engine(tmp_path, JUNK, None)
    manifest = Manifest.from_dict({k: v for k, v in sidecar_dict.items() if k != "profile"})
    # Past the sidecar check (a manifest describes the model); the next step needs TensorRT itself.
    with pytest.raises(BackendUnavailableError, match=r"the TensorRT backend needs tensorrt \(pip install 'ganedge\[gpu\]'\)"):
        TensorRTRunner(engine, manifest)


def test_trt_modules_import_light():
    code = ("import sys\nimport ganedge.export.trt, ganedge.sdk.backends.tensorrt.runner, ganedge.cli.export_trt\n"
            "print(','.join(m for m in ('torch', 'onnx', 'onnxruntime', 'tensorrt') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
