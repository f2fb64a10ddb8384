import subprocess
import sys

import click
import pytest

from ganedge.cli.main import COMMANDS, LazyGroup, cli


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "ganedge", *args], capture_output=True, text=True)


def test_help_lists_every_command_without_importing_torch():
    code = (
        "import sys\n"
        "from ganedge.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        "assert 'torch' not in sys.modules, 'ganedge --help imported torch'\n"
        "assert 'onnxruntime' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for name in COMMANDS:
        assert name in result.stdout


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0 and "ganedge" in result.stdout


def test_unknown_command_is_usage_error():
    result = run_cli("frobnicate")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(name):
    result = run_cli(name, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_ganedge_error_is_one_line_and_exit_code(tmp_path):
    # A real command given a missing input must fail as bad input (2), one line, no traceback.
    result = run_cli("inspect", str(tmp_path / "missing.onnx"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_lazy_group_resolves_only_on_demand():
    group = LazyGroup(name="g", lazy_commands={"x": ("ganedge.cli.main:cli", "help")})
    with click.Context(group) as ctx:
        assert group.list_commands(ctx) == ["x"]
        assert group.get_command(ctx, "x") is cli
        assert group.get_command(ctx, "nope") is None
