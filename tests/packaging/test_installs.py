"""Every command in every install the README offers works, or says in one line which extra it needs.

The wheel is pip-installed into fresh virtualenvs (``ganedge``, ``[cpu]``, ``[cpu,video]``,
``[train]``, ``[train,cpu]``: tests.packaging.matrix.PLAN) and every command's ``--help`` and one real invocation
run there through the console script; the outcomes must be those in ``EXPECTED``: "works", or exit 2
with one line on stderr naming the extra and the exact ``pip install`` (never a traceback). Each
install also imports every module of the package: one may need an extra, none may fail otherwise.
The outcomes' table lands in test-artifacts/install-matrix.md (``python -m tests.packaging.matrix``
prints it too).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.packaging.matrix import COLUMNS, EXPECTED, INVOCATIONS, MODULES, leaf_commands

pytestmark = pytest.mark.slow
LIGHT, FULL = COLUMNS[0], COLUMNS[-1]
# Modules the light install imports without any extra: the SDK, the CLI entry, inspect's and bench's engines.
LIGHT_MODULES = ("ganedge.sdk", "ganedge.cli.main", "ganedge.artifacts.onnx_graph", "ganedge.export.describe",
                 "ganedge.export.flops", "ganedge.export.graph_shapes", "ganedge.bench.core", "ganedge.extras")


def test_every_command_has_an_invocation_and_an_expected_row():
    commands = leaf_commands()
    assert set(commands) <= set(INVOCATIONS), "add the new command to INVOCATIONS and EXPECTED in matrix.py"
    assert all(any(key == c or key.startswith(c + " -") for c in commands) for key in INVOCATIONS)
    assert set(EXPECTED) == set(INVOCATIONS)
    assert all(len(row) == len(COLUMNS) for row in EXPECTED.values())


@pytest.mark.parametrize("column", COLUMNS)
def test_every_help_works(matrix, column):
    outcomes, _ = matrix
    helps = {key: o for key, o in outcomes[column].items() if key.endswith("--help")}
    assert len(helps) == len(leaf_commands()) + 2  # + `ganedge --help` and `ganedge export --help`
    for key, outcome in helps.items():
        assert outcome.code == 0 and "Usage:" in outcome.out and not outcome.err, outcome.describe()


@pytest.mark.parametrize("name", list(INVOCATIONS))
def test_each_command_works_or_names_its_extra(matrix, name):
    outcomes, inputs = matrix
    wrong = []
    for column, expected in zip(COLUMNS, EXPECTED[name]):
        if name == "export web" and not Path(inputs["ort_web"]).is_dir():
            expected = "error"  # no onnxruntime-web npm package here (make web-deps): one line saying so
        outcome = outcomes[column][name]
        if outcome.kind != expected:
            wrong.append(f"{column}: expected {expected}, got {outcome.kind}: {outcome.describe()}")
    assert not wrong, "\n".join(wrong)


def test_a_missing_extra_is_one_line_with_the_exact_pip_install(matrix):
    outcomes, _ = matrix
    needs = [o for column in COLUMNS for key, o in outcomes[column].items() if o.kind.startswith("needs ")]
    assert len(needs) >= 15
    for outcome in needs:
        line = outcome.err.strip()
        assert "\n" not in line and "Traceback" not in outcome.err
        assert line.startswith("error: ") and " needs " in line
        assert f"(pip install 'ganedge[{outcome.kind[6:]}]'" in line, line


def test_inspect_in_the_light_install_shows_all_but_checker_and_lint(matrix):
    outcomes, _ = matrix
    light, full = outcomes[LIGHT]["inspect"].out, outcomes[FULL]["inspect"].out
    for text in ("Inputs:    z float32 [batch, 16]", "Outputs:   image float32 [batch, 3, 16, 16]", "Ops:       ",
                 "Params:    ", "FLOPs:     ", "  latent_dim       16",
                 "Checker:   onnx.checker needs onnx (pip install 'ganedge[train]')",
                 "Lint:      the TensorRT lint needs onnx (pip install 'ganedge[train]')"):
        assert text in light, text
    assert "Checker:   ok" in full and "Lint:      TensorRT 10 ONNX parser: compatible" in full
    same = [line for line in light.splitlines() if not line.startswith(("Checker:", "Lint:"))]
    assert same == full.splitlines()[:len(same)]  # manifest, graph, params and FLOPs: the same figures


def test_the_light_bench_is_complete(matrix):
    from ganedge.export.flops import count_file_flops

    outcomes, inputs = matrix
    flops = count_file_flops(inputs["model"]).total
    for column in ("[cpu]", FULL):  # [cpu]: no onnx, no torch; [train,cpu]: everything
        report = json.loads(outcomes[column]["bench"].out)
        assert report["results"] and not any("FLOP" in w for w in report.get("warnings", []))
        for row in report["results"]:
            assert row["flops_per_sample"] == flops and row["pct_of_peak"] > 0


@pytest.mark.parametrize("column", COLUMNS)
def test_every_module_imports_or_needs_an_extra(matrix, column):
    outcomes, _ = matrix
    probe = outcomes[column][MODULES]
    assert probe.code == 0, probe.err[-2000:]
    modules = json.loads(probe.out)
    assert len(modules) > 100
    broken = {name: why for name, why in modules.items() if why.startswith("error")}
    assert not broken, broken
    if column == LIGHT:
        assert all(modules[name] == "ok" for name in LIGHT_MODULES), {m: modules[m] for m in LIGHT_MODULES}
    if column == FULL:  # what still needs something needs an extra this install lacks
        extras = {why[6:] for why in modules.values() if why != "ok"}
        assert extras <= {"gpu", "bench", "serve", "dev", "openvino", "video", "ray"}, extras
        assert modules["ganedge.generate.ray_runner"] == "ok"  # imports Ray only when --ray runs
