"""Sampling an ONNX file needs only the base + `cpu` extra: proven in a virtualenv without torch.

Creating a venv and pip-installing into it takes minutes. Instead: ``python -m venv
--without-pip`` (about a second) and a .pth file that puts one folder on its path, holding
symlinks to exactly the base + cpu packages (numpy, onnxruntime, click, pillow) and the
ganedge sources. torch, onnx and protobuf are then truly not importable there.
"""

from __future__ import annotations

import json
import os
import subprocess
import venv
from pathlib import Path

import numpy as np
import pytest

import ganedge
import ganedge.bench
import ganedge.export
import ganedge.sdk

ALLOWED = ("numpy", "numpy.libs", "onnxruntime", "click", "PIL", "pillow.libs")
HEAVY = ("torch", "onnx", "tensorrt", "safetensors", "sklearn", "matplotlib", "google.protobuf")


def _site_packages() -> Path:
    import numpy as np_module

    return Path(np_module.__file__).resolve().parent.parent


def _ganedge_tree(shim: Path) -> None:
    """shim/ganedge: the ganedge package with sdk/, export/ and bench/ mapped in, as installed."""
    package = shim / "ganedge"
    package.mkdir()
    source = Path(ganedge.__file__).resolve().parent
    for entry in source.iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for name, module in (("sdk", ganedge.sdk), ("export", ganedge.export), ("bench", ganedge.bench)):
        target = Path(module.__file__).resolve().parent
        if not (package / name).exists():
            (package / name).symlink_to(target, target_is_directory=True)


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bare")
    venv.EnvBuilder(with_pip=False, symlinks=True).create(root / "venv")
    python = root / "venv" / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    shim = root / "shim"
    shim.mkdir()
    site = _site_packages()
    for name in ALLOWED:
        if (site / name).exists():
            (shim / name).symlink_to(site / name)
    _ganedge_tree(shim)
    (Path(purelib) / "ganedge_shim.pth").write_text(f"{shim}\n")
    return python


def _run(python: Path, *args: str) -> subprocess.CompletedProcess:
    # cwd: the venv's folder, not the repo (whose ganedge/ would shadow the shim via sys.path[0]).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return subprocess.run([str(python), *args], capture_output=True, text=True, env=env, timeout=120,
                          cwd=python.parent.parent.parent)


def test_the_bare_env_really_lacks_torch(bare_python):
    result = _run(bare_python, "-c", "import torch")
    assert result.returncode != 0 and "No module named 'torch'" in result.stderr


def test_sampling_onnx_never_imports_torch(bare_python, models, tmp_path):
    out = tmp_path / "images.npy"
    code = (
        "import json, sys, numpy as np\n"
        "from ganedge import sdk\n"
        f"g = sdk.load({str(models['dcgan'])!r})\n"
        "images = g.sample(6, seed=3)\n"
        f"np.save({str(out)!r}, images)\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    result = _run(bare_python, "-c", code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
    with ganedge.sdk.load(models["dcgan"]) as g:
        np.testing.assert_array_equal(np.load(out), g.sample(6, seed=3))


def test_cli_sample_works_without_torch(bare_python, models, tmp_path):
    result = _run(bare_python, "-m", "ganedge", "sample", str(models["mlp"]), "--seeds", "0-3",
                  "-o", str(tmp_path / "grid.png"), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["backend"] == "onnxruntime"
    assert (tmp_path / "grid.png").stat().st_size > 0


def test_run_dir_without_torch_names_the_extra(bare_python, models, tmp_path):
    result = _run(bare_python, "-m", "ganedge", "sample", str(models["mlp_run"]), "--seeds", "0", "-o",
                  str(tmp_path / "x.png"))
    assert result.returncode == 2
    assert "ganedge[train]" in result.stderr and "Traceback" not in result.stderr


def test_loading_without_onnxruntime_names_the_cpu_extra(tmp_path, models):
    # The same bare env minus onnxruntime: `import ganedge.sdk` works, load() says what to install.
    venv.EnvBuilder(with_pip=False, symlinks=True).create(tmp_path / "venv")
    python = tmp_path / "venv" / "bin" / "python"
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    shim = tmp_path / "shim"
    shim.mkdir()
    for name in ("numpy", "numpy.libs", "click", "PIL", "pillow.libs"):
        if (_site_packages() / name).exists():
            (shim / name).symlink_to(_site_packages() / name)
    _ganedge_tree(shim)
    (Path(purelib) / "ganedge_shim.pth").write_text(f"{shim}\n")
    code = ("from ganedge import sdk\n"
            "from ganedge.errors import BackendUnavailableError\n"
            "try:\n"
            f"    sdk.load({str(models['mlp'])!r})\n"
            "except BackendUnavailableError as exc:\n"
            "    print(exc)\n")
    result = _run(python, "-c", code)
    assert result.returncode == 0, result.stderr
    assert "pip install 'ganedge[cpu]'" in result.stdout
