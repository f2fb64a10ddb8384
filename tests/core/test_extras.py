"""One table says which extra brings which optional package; every command turns a missing one into one line.

The table (``ganedge.extras``) is checked against pyproject.toml and against every import in the
package, so adding a dependency or an extra without its line fails here. The CLI behaviour is
checked in fresh processes where optional packages are made unimportable (``sys.modules[name] =
None``, which makes ``import name`` raise ModuleNotFoundError as if it were not installed); the
real installs are tests/packaging's.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from ganedge.extras import (BASE_MODULES, OPTIONAL_MODULES, MissingExtraError, install_hint, missing_extra, needs,
                            require, require_all)

REPO = Path(__file__).resolve().parents[2]
# Extras that branches in flight add to pyproject.toml; the table already knows them. Remove a name
# here when its extra lands (the test below fails as a reminder).
NOT_YET_IN_PYPROJECT: set[str] = set()


def _name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower().replace("_", "-")


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def test_every_entry_names_an_extra_that_installs_it(project):
    extras = {extra: {_name(r) for r in reqs} for extra, reqs in project["optional-dependencies"].items()}
    for module, provider in OPTIONAL_MODULES.items():
        if provider.extra in NOT_YET_IN_PYPROJECT:
            assert provider.extra not in extras, f"[{provider.extra}] is in pyproject now: drop it from NOT_YET_IN_PYPROJECT"
            continue
        assert provider.distribution in extras[provider.extra], (module, provider)
        if provider.alternative:
            other = provider.alternative.split()[0]
            assert {provider.distribution, f"{provider.distribution}-gpu"} & extras[other], (module, other)


def test_every_package_of_a_runtime_extra_is_in_the_table(project):
    known = {p.distribution for p in OPTIONAL_MODULES.values()}
    for extra, requirements in project["optional-dependencies"].items():
        if extra == "dev":  # the test tools; what the package itself imports from dev is in the table
            continue
        for name in map(_name, requirements):
            assert name.removesuffix("-gpu") in known, f"[{extra}] installs {name}: add its module to OPTIONAL_MODULES"
    assert {_name(r) for r in project["dependencies"]} == set(BASE_MODULES.values())


def _imports(path: Path) -> set[str]:
    tops = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            tops |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.partition(".")[0])
    return tops


def test_every_third_party_import_is_in_the_base_or_the_table():
    unknown = {}
    for folder in ("ganedge", "sdk", "export", "bench", "examples"):
        for path in (REPO / folder).rglob("*.py"):
            if "node_modules" in path.parts:
                continue
            local = {p.stem for p in path.parent.iterdir()}  # an example's sibling modules
            for top in _imports(path) - set(sys.stdlib_module_names) - {"ganedge"} - local:
                if top not in BASE_MODULES and top not in OPTIONAL_MODULES:
                    unknown.setdefault(top, str(path.relative_to(REPO)))
    assert not unknown, f"imports of packages ganedge.extras does not know: {unknown}"


def test_the_line_names_the_package_and_the_exact_pip_install():
    assert needs("ganedge train", "torch") == "ganedge train needs torch (pip install 'ganedge[train]')"
    assert needs("x", "sklearn.datasets") == "x needs scikit-learn (pip install 'ganedge[train]')"
    assert install_hint("onnxruntime") == "pip install 'ganedge[cpu]', or 'ganedge[gpu]' on an NVIDIA GPU"
    error = missing_extra(ModuleNotFoundError("No module named 'matplotlib'", name="matplotlib"), "--plot")
    assert isinstance(error, MissingExtraError) and error.exit_code == 2
    assert str(error) == "--plot needs matplotlib (pip install 'ganedge[bench]')"


@pytest.mark.parametrize("name", ["ganedge.cli.nope", "yaml", "", None])
def test_anything_but_an_optional_package_is_not_an_extra(name):
    assert missing_extra(ModuleNotFoundError("x", name=name), "cmd") is None


def test_a_missing_piece_of_an_installed_package_is_a_broken_install_not_an_extra():
    error = missing_extra(ModuleNotFoundError("x", name="onnx.no_such_submodule"), "ganedge inspect")
    assert error is not None and "which the installed onnx lacks" in str(error)
    assert str(error).endswith("upgrade it: pip install -U onnx")


def test_require_and_require_all(monkeypatch):
    assert require("json", "x").__name__ == "json"  # stdlib: nothing to say
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingExtraError, match=r"^the onnxruntime backend needs onnxruntime \(pip install"):
        require("onnxruntime", "the onnxruntime backend")
    with pytest.raises(MissingExtraError) as info:
        require_all(["torch", "onnx", "onnxruntime"], "exporting")
    # one package per missing extra, every extra in one pip install
    assert str(info.value) == "exporting needs torch and onnxruntime (pip install 'ganedge[train,cpu]')"
    assert info.value.module == "torch" and info.value.provider.extra == "train"
    require_all(["onnx", "safetensors"], "nothing missing")


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory) -> Path:
    """A ganedge ONNX file in a few lines: z (batch, 8) -> MatMul -> Reshape -> image (batch, 3, 2, 2)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    from ganedge.artifacts.manifest import ONNX_METADATA_KEY, Manifest

    inits = [numpy_helper.from_array(np.ones((8, 12), np.float32), "W"),
             numpy_helper.from_array(np.array([-1, 3, 2, 2], np.int64), "shape")]
    nodes = [helper.make_node("MatMul", ["z", "W"], ["h"]), helper.make_node("Reshape", ["h", "shape"], ["image"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 8])],
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 2, 2])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    helper.set_model_props(model, {ONNX_METADATA_KEY: Manifest(arch="mlp", latent_dim=8, image_shape=(3, 2, 2)).to_json()})
    path = tmp_path_factory.mktemp("tiny") / "model.onnx"
    path.write_bytes(model.SerializeToString())
    return path


BLOCK = ("import sys\n"
         "for name in {blocked!r}: sys.modules[name] = None  # import raises ModuleNotFoundError, as if not installed\n"
         "from ganedge.cli.main import main\n"
         "main({args!r})\n")


def _cli(args: list[str], blocked: tuple[str, ...], cwd: Path) -> subprocess.CompletedProcess:
    code = BLOCK.format(blocked=blocked, args=[str(a) for a in args])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.mark.parametrize("args, blocked, line", [
    (["train", "--steps", "1", "-o", "run"], ("torch",), "error: ganedge train needs torch (pip install 'ganedge[train]')"),
    (["export", "onnx", "{run}", "-o", "m.onnx"], ("onnxruntime",),
     "error: exporting to ONNX needs onnxruntime (pip install 'ganedge[cpu]', or 'ganedge[gpu]' on an NVIDIA GPU)"),
    (["sample", "{run}", "-o", "g.png"], ("torch",), "error: ganedge sample needs torch (pip install 'ganedge[train]')"),
    (["sample", "{onnx}", "--walk", "1,2", "-o", "w.mp4"], ("onnxruntime", "openvino", "imageio"),
     "error: ganedge sample needs onnxruntime and imageio (pip install 'ganedge[cpu,video]')"),
    (["export", "trt", "{onnx}", "-o", "m.engine"], ("tensorrt",),
     "error: the TensorRT backend needs tensorrt (pip install 'ganedge[gpu]')"),
])
def test_cli_names_the_extra_in_one_line(args, blocked, line, tmp_path, make_run_dir, tiny_onnx):
    run = make_run_dir("mlp", 16, latent_dim=8, width=8)
    args = [a.format(run=run, onnx=tiny_onnx) for a in args]
    result = _cli(args, blocked, tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert line in result.stderr


def test_a_raw_module_not_found_names_the_command_path(tmp_path):
    # An import deep inside a command, of an optional package nothing checked up front: the group catches it.
    code = ("import sys\n"
            "sys.modules['matplotlib'] = None\n"
            "import click\n"
            "from ganedge.cli import main as m\n"
            "@click.command()\n"
            "def plot():\n"
            "    import matplotlib\n"
            "m.COMMANDS['export'] = ('ganedge.cli.export:export', '')\n"
            "import ganedge.cli.export as e\n"
            "e.export.add_command(plot, 'plot')\n"
            "m.main(['export', 'plot'])\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "error: ganedge export plot needs matplotlib (pip install 'ganedge[bench]')\n"


@pytest.mark.parametrize("module", ["ganedge.cli.no_such_module", "no_such_third_party_package"])
def test_a_missing_module_that_is_no_extra_is_a_bug_and_keeps_its_traceback(module, tmp_path):
    code = ("from ganedge.cli.main import LazyGroup, run_command\n"
            f"group = LazyGroup(name='g', lazy_commands={{'x': ({module + ':cmd'!r}, 'help')}})\n"
            "run_command(group, ['x'], 'g')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and f"No module named '{module}'" in result.stderr


def test_debug_shows_the_traceback_of_a_missing_extra(tmp_path):
    result = _cli(["--debug", "train", "--steps", "1", "-o", "run"], ("torch",), tmp_path)
    assert result.returncode == 1 and "Traceback" in result.stderr and "MissingExtraError" in result.stderr


def test_every_backend_names_the_packages_it_imports():
    from ganedge.sdk.backends import BACKEND_MODULES, BACKEND_NAMES

    assert set(BACKEND_MODULES) == set(BACKEND_NAMES), "a new backend needs its line in BACKEND_MODULES"
    assert all(m in OPTIONAL_MODULES for modules in BACKEND_MODULES.values() for m in modules)
