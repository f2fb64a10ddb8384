"""Installs without OpenVINO, or with OpenVINO alone: what loading says (real interpreters whose path
holds only the named packages; see test_no_torch.py for how the bare environments are made)."""

from __future__ import annotations

import json
import venv
from pathlib import Path

import pytest

from tests.sdk.test_no_torch import _ganedge_tree, _run, _site_packages, bare_python  # noqa: F401 (a fixture)


def test_openvino_backend_without_openvino_names_the_extra(bare_python, models, tmp_path):
    code = ("from ganedge import sdk\n"
            "from ganedge.errors import BackendUnavailableError\n"
            "try:\n"
            f"    sdk.load({str(models['mlp'])!r}, backend='openvino')\n"
            "except BackendUnavailableError as exc:\n"
            "    print(exc)\n")
    result = _run(bare_python, "-c", code)
    assert result.returncode == 0, result.stderr
    assert "pip install 'ganedge[openvino]'" in result.stdout and len(result.stdout.strip().splitlines()) == 1
    cli = _run(bare_python, "-m", "ganedge", "sample", str(models["mlp"]), "--backend", "openvino", "--seeds", "0",
               "-o", str(tmp_path / "x.png"))
    assert cli.returncode == 2 and "ganedge[openvino]" in cli.stderr and "Traceback" not in cli.stderr


def test_precision_auto_without_openvino_keeps_onnxruntime(bare_python, models):
    code = ("import json\nfrom ganedge import sdk\n"
            f"g = sdk.load({str(models['mlp'])!r}, precision='auto')\n"
            "print(json.dumps(g.backend_info))\n")
    result = _run(bare_python, "-c", code)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["backend"] == "onnxruntime" and "only candidate" in info["selected"]


def test_openvino_alone_serves_onnx_files_and_says_why(models, tmp_path):
    pytest.importorskip("openvino")
    venv.EnvBuilder(with_pip=False, symlinks=True).create(tmp_path / "venv")
    python = tmp_path / "venv" / "bin" / "python"
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    shim = tmp_path / "shim"
    shim.mkdir()
    for name in ("numpy", "numpy.libs", "click", "PIL", "pillow.libs", "openvino", "openvino.libs",
                 "openvino_telemetry", "packaging"):
        if (_site_packages() / name).exists():
            (shim / name).symlink_to(_site_packages() / name)
    _ganedge_tree(shim)
    (Path(purelib) / "ganedge_shim.pth").write_text(f"{shim}\n")
    code = ("import json, sys\nfrom ganedge import sdk\n"
            f"g = sdk.load({str(models['mlp'])!r})\n"
            "g.sample(3)\n"
            "print(json.dumps({'info': g.backend_info, 'ort': 'onnxruntime' in sys.modules}))\n")
    result = _run(python, "-c", code)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["info"]["backend"] == "openvino" and out["info"]["precision"] == "fp32" and not out["ort"]
    assert "onnxruntime is not installed" in out["info"]["selected"]
