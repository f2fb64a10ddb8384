"""Every command in every install: what it does, against what it should do.

``python -m tests.packaging.matrix`` builds the wheel, makes the installs and prints the table
(Markdown) from the outcomes; tests/packaging/test_installs.py asserts them against EXPECTED.

Adding a command: one line in INVOCATIONS and one in EXPECTED. Adding an install: one line in
PLAN and a column in EXPECTED.
"""

from __future__ import annotations

import concurrent.futures
import importlib
import re
import sys
import tempfile
from pathlib import Path

from tests.packaging.installs import REPO, Install, Outcome, build_wheel, wheel_sources

# (column, venv, extras added): steps sharing a venv run in this order, each after the previous one's commands.
PLAN = (
    ("ganedge", "light", ()),
    ("[cpu]", "light", ("cpu",)),
    ("[cpu,video]", "light", ("video",)),
    ("[openvino]", "openvino", ("openvino",)),
    ("[train]", "full", ("train",)),
    ("[train,cpu]", "full", ("cpu",)),
)
COLUMNS = tuple(step[0] for step in PLAN)

# One real invocation per command (key: the command), and a few more for options that need an extra of
# their own (key: the command and the option). {model}: a ganedge ONNX export; {run}: a run directory;
# {out}: an empty folder that is also the working directory; {ort_web}: the onnxruntime-web npm package.
INVOCATIONS: dict[str, tuple[str, ...]] = {
    "train": ("train", "--arch", "mlp", "--image-size", "16", "--latent-dim", "8", "--g-width", "8",
              "--d-width", "8", "--batch-size", "4", "--steps", "1", "-q", "-o", "{out}/run"),
    "eval": ("eval", "{model}", "--n", "64", "--json"),
    "export onnx": ("export", "onnx", "{run}", "-o", "{out}/model.onnx", "--no-fd"),
    "export trt": ("export", "trt", "{model}", "-o", "{out}/model.engine"),
    "export triton": ("export", "triton", "{model}", "-o", "{out}/repo"),
    "export web": ("export", "web", "{model}", "-o", "{out}/site", "--ort-web", "{ort_web}"),
    "sample": ("sample", "{model}", "--seeds", "0-3", "-o", "{out}/grid.png"),
    "sample --walk .mp4": ("sample", "{model}", "--walk", "1,2", "--frames", "4", "-o", "{out}/walk.mp4"),
    "generate": ("generate", "{model}", "--count", "8", "--shard-size", "4", "--workers", "1", "-q", "-o",
                 "{out}/shards"),
    "generate --ray": ("generate", "{model}", "--count", "4", "--ray", "auto", "-q", "-o", "{out}/shards"),
    "verify": ("verify", "{model}", "{model}", "--seeds", "0-3"),
    "inspect": ("inspect", "{model}"),
    "bench": ("bench", "{model}", "--batch-sizes", "1", "--duration", "0.1", "--warmup", "0.05",
              "--no-cold-start", "--json", "-"),
}

# What each invocation must do in each column of PLAN: "works", "needs EXTRA" (exit 2, one line with
# the pip install), or "error" (exit 2, one line naming something pip cannot install).
EXPECTED: dict[str, tuple[str, ...]] = {
    #                      ganedge            [cpu]          [cpu,video]    [openvino]         [train]            [train,cpu]
    "train":              ("needs train",     "needs train", "needs train", "needs train",     "works",           "works"),
    "eval":               ("needs train,cpu", "needs train", "needs train", "needs train",     "needs cpu",       "works"),
    "export onnx":        ("needs train,cpu", "needs train", "needs train", "needs train,cpu", "needs cpu",       "works"),
    "export trt":         ("needs gpu",       "needs gpu",   "needs gpu",   "needs gpu",       "needs gpu",       "needs gpu"),
    "export triton":      ("needs cpu",       "works",       "works",       "needs cpu",       "needs cpu",       "works"),
    "export web":         ("works",           "works",       "works",       "works",           "works",           "works"),
    "sample":             ("needs cpu",       "works",       "works",       "works",           "needs cpu",       "works"),
    "sample --walk .mp4": ("needs cpu,video", "needs video", "works",       "needs video",     "needs cpu,video", "needs video"),
    "generate":           ("needs cpu",       "works",       "works",       "works",           "needs cpu",       "works"),
    "generate --ray":     ("needs cpu,ray",   "needs ray",   "needs ray",   "needs ray",       "needs cpu,ray",   "needs ray"),
    "verify":             ("needs cpu",       "works",       "works",       "works",           "needs cpu",       "works"),
    "inspect":            ("works",           "works",       "works",       "works",           "works",           "works"),
    "bench":              ("needs cpu",       "works",       "works",       "needs cpu",       "needs cpu",       "works"),
}


MODULES = "(import every module)"  # the key of tests/packaging/probe.py's outcome in each column


def leaf_commands() -> list[str]:
    """Every runnable command, "export onnx" style, from the CLI's lazy tables (groups are opened)."""
    from ganedge.cli.main import COMMANDS, LazyGroup

    names = []
    for name, (target, _) in COMMANDS.items():
        module, attr = target.split(":")
        command = getattr(importlib.import_module(module), attr)
        if isinstance(command, LazyGroup):
            names += [f"{name} {sub}" for sub in command.lazy_commands]
        else:
            names.append(name)
    return sorted(names)


def help_invocations() -> dict[str, tuple[str, ...]]:
    groups = {name.split()[0] for name in leaf_commands() if " " in name}
    return {name: (*name.split(), "--help") for name in ["", *sorted(groups), *leaf_commands()]}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "top"


def run_column(install: Install, column: str, work: Path, inputs: dict[str, str]) -> dict[str, Outcome]:
    """Every --help, every invocation and the module probe in ``install``; keys: "NAME", "NAME --help", MODULES."""
    jobs: dict[str, tuple[tuple[str, ...], Path]] = {}
    for name, args in help_invocations().items():
        jobs[f"{name} --help".strip()] = (args, work)
    for name, template in INVOCATIONS.items():
        out = work / _slug(column) / _slug(name)
        out.mkdir(parents=True)
        values = {**inputs, "out": str(out)}
        jobs[name] = (tuple(arg.format(**values) for arg in template), out)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {key: pool.submit(install.run, args, cwd) for key, (args, cwd) in jobs.items()}
        futures[MODULES] = pool.submit(install.run_python, Path(__file__).with_name("probe.py"), work)
        return {key: future.result() for key, future in futures.items()}


def run_matrix(work: Path, wheel: Path, inputs: dict[str, str]) -> tuple[dict[str, dict[str, Outcome]], list[str]]:
    """Outcomes per column of PLAN (each a dict as :func:`run_column` returns) and the install log."""
    sources = wheel_sources()
    venvs: dict[str, Install] = {}
    outcomes: dict[str, dict[str, Outcome]] = {}
    log: list[str] = []
    for column, name, extras in PLAN:
        if name not in venvs:
            venvs[name] = Install(work / f"venv-{name}", wheel, sources, extras).create()
        else:
            venvs[name].add(extras)
        outcomes[column] = run_column(venvs[name], column, work, inputs)
    for install in venvs.values():
        log += install.log
    return outcomes, log


def format_table(outcomes: dict[str, dict[str, Outcome]]) -> str:
    """The closing-note table: a row per command, a column per install, from what the commands did."""
    rows = ["| command | " + " | ".join(f"`{c}`" for c in outcomes) + " |",
            "|---|" + "---|" * len(outcomes)]
    for name in INVOCATIONS:
        cells = []
        for column in outcomes:
            outcome = outcomes[column][name]
            kind = outcome.kind
            cells.append(f"one line: `pip install 'ganedge[{kind[6:]}]'`" if kind.startswith("needs ") else
                         f"**{kind}**" if kind == "FAILS" else kind)
        rows.append(f"| `ganedge {name}` | " + " | ".join(cells) + " |")
    helps = {column: all(o.code == 0 for key, o in outcomes[column].items() if key.endswith("--help"))
             for column in outcomes}
    rows.append("| every `--help` | " + " | ".join("works" if ok else "**FAILS**" for ok in helps.values()) + " |")
    return "\n".join(rows)


def make_inputs(folder: Path) -> dict[str, str]:
    """A tiny run directory and its ONNX export, made with this environment's torch."""
    from ganedge.export.pipeline import ExportOptions, export_onnx
    from ganedge.models.random_run import write_random_run

    run = write_random_run(folder / "run", "dcgan", 16, 16, 0, 8, 0)
    result = export_onnx(run, folder / "model.onnx", ExportOptions(fd=False))
    assert result.passed, result.failure_summary()
    return {"run": str(run), "model": str(folder / "model.onnx"), "ort_web": ort_web_folder()}


def ort_web_folder() -> str:
    """The checkout's onnxruntime-web (make web-deps); a missing folder makes `export web` say what to run."""
    return str(REPO / "export" / "web" / "node_modules" / "onnxruntime-web")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ganedge-matrix-") as tmp:
        work = Path(tmp)
        wheel = build_wheel(work / "wheel")
        outcomes, log = run_matrix(work, wheel, make_inputs(work))
        print(format_table(outcomes))
        print("\n" + "\n".join(log), file=sys.stderr)
        for column, results in outcomes.items():
            for key, outcome in results.items():
                if not key.endswith("--help"):
                    print(f"{column:12} {outcome.seconds:5.1f} s  {outcome.describe()}", file=sys.stderr)


if __name__ == "__main__":
    main()
