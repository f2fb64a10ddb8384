import hashlib
import json

import pytest

from ganedge.errors import ArtifactError, IncompatibleEngineError
from ganedge.artifacts.trt_sidecar import (PresentFacts, check_compat, check_engine_bytes, make_sidecar, normalize_cc,
                                        parse_version, read_sidecar, require_compatible, write_sidecar)
from ganedge.artifacts.manifest import Manifest

H100_TRT10 = PresentFacts("10.13.3", "9.0", "NVIDIA H100 80GB HBM3")


def test_same_gpu_and_version_is_ok(sidecar_dict):
    report = check_compat(sidecar_dict, H100_TRT10, "model.engine")
    assert report.ok and report.message == "" and report.warnings == ()


def test_other_architecture_is_refused_with_the_facts_and_the_fix(sidecar_dict):
    sidecar_dict["compute_capability"] = "8.9"
    report = check_compat(sidecar_dict, PresentFacts("11.1.0", "9.0"), "model.engine")
    assert not report.ok
    assert report.message.startswith("model.engine was built for compute 8.9 with TensorRT 10.13.3; "
                                     "this GPU is compute 9.0 with TensorRT 11.1.0 — rebuild it here with "
                                     "`ganedge export trt model-fp16.onnx -o model.engine`")
    assert "\n" not in report.message


@pytest.mark.parametrize("present", ["10.13.2", "10.14.0", "11.0.0", "10.12.0.36"])
def test_other_tensorrt_release_is_refused(sidecar_dict, present):
    report = check_compat(sidecar_dict, PresentFacts(present, "9.0"), "m.engine")
    assert not report.ok
    assert f"TensorRT {present}" in report.message and "--version-compatible" in report.message


def test_build_number_does_not_matter(sidecar_dict):
    assert check_compat(sidecar_dict, PresentFacts("10.13.3.9", "9.0"), "m.engine").ok


@pytest.mark.parametrize("present, ok", [("10.13.3", True), ("10.14.1", True), ("11.0.0", True),
                                         ("10.13.2", False), ("10.9.0", False)])
def test_version_compatible_engines_run_on_same_or_newer_tensorrt(sidecar_dict, present, ok):
    sidecar_dict["version_compatible"] = True
    report = check_compat(sidecar_dict, PresentFacts(present, "9.0"), "m.engine")
    assert report.ok is ok
    if not ok:
        assert "version-compatible: runs on this TensorRT or newer" in report.message


def test_version_compatible_does_not_relax_architecture(sidecar_dict):
    sidecar_dict["version_compatible"] = True
    assert not check_compat(sidecar_dict, PresentFacts("10.13.3", "8.0"), "m.engine").ok


def test_other_gpu_model_same_architecture_only_warns(sidecar_dict):
    report = check_compat(sidecar_dict, PresentFacts("10.13.3", "9.0", "NVIDIA H100 PCIe"), "m.engine")
    assert report.ok
    assert len(report.warnings) == 1 and "NVIDIA H100 PCIe" in report.warnings[0]


def test_require_compatible_raises_incompatible_engine_error(sidecar_dict):
    sidecar_dict["tensorrt_version"] = "10.3.0"
    with pytest.raises(IncompatibleEngineError, match="rebuild it here") as info:
        require_compatible(Manifest.from_dict(sidecar_dict), H100_TRT10, "m.engine")
    assert info.value.exit_code == 2


def test_sidecar_missing_facts_is_an_artifact_error(sidecar_dict):
    del sidecar_dict["compute_capability"]
    with pytest.raises(ArtifactError, match="lacks compute_capability"):
        check_compat(sidecar_dict, H100_TRT10, "m.engine")


@pytest.mark.parametrize("value, expected", [("9.0", "9.0"), ((8, 9), "8.9"), ([12, 0], "12.0"), ("sm_90", "9.0"),
                                             (9.0, "9.0")])
def test_normalize_cc(value, expected):
    assert normalize_cc(value) == expected


def test_normalize_cc_rejects_junk():
    with pytest.raises(ArtifactError):
        normalize_cc("hopper")


def test_parse_version():
    assert parse_version("10.13.3.9") == (10, 13, 3, 9)
    assert parse_version("11.0.0rc1") == (11, 0)
    assert parse_version("junk") == ()


def test_write_read_round_trip_keeps_everything(tmp_path, sidecar_dict):
    base = Manifest.from_dict({k: v for k, v in sidecar_dict.items()
                               if k not in ("tensorrt_version", "gpu_name", "compute_capability", "profile")})
    sidecar = make_sidecar(base, tensorrt_version="10.13.3", compute_capability="9.0", gpu_name="X",
                           profile={"min": 1, "opt": 8, "max": 64})
    engine = tmp_path / "model.engine"
    path = write_sidecar(engine, sidecar)
    assert path.name == "model.engine.json"
    back = read_sidecar(engine)
    assert back == sidecar
    assert json.loads(path.read_text())["profile"] == {"min": 1, "opt": 8, "max": 64}


def test_read_sidecar_refuses_missing_or_foreign_files(tmp_path, sidecar_dict):
    engine = tmp_path / "model.engine"
    with pytest.raises(ArtifactError, match="has no sidecar model.engine.json"):
        read_sidecar(engine)
    (tmp_path / "model.engine.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        read_sidecar(engine)
    onnx_like = {k: v for k, v in sidecar_dict.items() if k not in ("tensorrt_version", "profile")}
    (tmp_path / "model.engine.json").write_text(json.dumps(onnx_like))
    with pytest.raises(ArtifactError, match="not a TensorRT sidecar"):
        read_sidecar(engine)


def test_engine_bytes_must_match_the_sidecar(sidecar_dict):
    data = b"engine bytes"
    sidecar_dict["engine_sha256"] = hashlib.sha256(data).hexdigest()
    m = Manifest.from_dict(sidecar_dict)
    check_engine_bytes(m, data, "m.engine")
    with pytest.raises(ArtifactError, match="does not match its sidecar"):
        check_engine_bytes(m, b"other bytes", "m.engine")
    with pytest.raises(ArtifactError, match="is empty"):
        check_engine_bytes(m, b"", "m.engine")
