"""The wheel as users get it: built once, pip-installed into fresh virtualenvs with each set of extras,
and every command run there. Shared by tests/packaging and ``python -m tests.packaging.matrix``.

Offline and quick: the wheel is built from a copy of the checkout without build isolation, and
its dependencies come from the wheels already on this machine — the file:// indexes and local
find-links of pip's own configuration (``pip config list``), or the folders in
``GANEDGE_WHEELHOUSE`` — not from the network, unless the machine lacks one of them (then pip's
own configuration is used for that install) or ``GANEDGE_WHEELHOUSE=online`` says so.
The virtualenvs have no pip of their own (``venv --without-pip``, a quarter of a second); the
test process's pip installs into them with ``--python``. An install with more extras is made by
installing the wheel again with them into the venv of the smaller install, after its commands
ran (pip's result is the same as a fresh install of the larger set; torch is unpacked once).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import venv
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# What the wheel is built from: pyproject's package-dir folders, pyproject.toml and the README it names.
SOURCES = ("pyproject.toml", "README.md", "ganedge", "sdk", "export", "bench")
SKIP = ("__pycache__", "node_modules", ".pytest_cache")


def build_wheel(out: Path) -> Path:
    """The wheel of this checkout, built in a copy of its sources (the checkout gets no build/ or egg-info)."""
    src = out / "src"
    src.mkdir(parents=True)
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, src / name, ignore=shutil.ignore_patterns(*SKIP))
        else:
            shutil.copy2(source, src / name)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                             "--no-index", "-w", str(out / "dist"), str(src)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"pip wheel failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    (wheel,) = (out / "dist").glob("ganedge-*.whl")
    return wheel


def _pip_config() -> dict[str, str]:
    result = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True)
    config = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition("=")
        config[key.split(".", 1)[-1].strip()] = value.strip().strip("'\"")
    for key in ("find-links", "index-url", "extra-index-url"):
        env = os.environ.get("PIP_" + key.upper().replace("-", "_"))
        if env:
            config[key] = f"{config.get(key, '')} {env}".strip()
    return config


def wheel_sources() -> list[str]:
    """pip options that find every dependency's wheel on this machine, without the network; where it has
    none (no file:// index in pip's configuration, no GANEDGE_WHEELHOUSE), pip's own configuration."""
    wheelhouse = os.environ.get("GANEDGE_WHEELHOUSE", "")
    if wheelhouse == "online":
        return []
    if wheelhouse:
        return ["--no-index"] + [arg for d in wheelhouse.split(os.pathsep) for arg in ("--find-links", d)]
    config = _pip_config()
    indexes = [u for key in ("index-url", "extra-index-url") for u in config.get(key, "").split()
               if u.startswith("file://")]
    links = [d for d in config.get("find-links", "").split() if Path(d.removeprefix("file://")).is_dir()]
    if not indexes:
        return []  # pip's configured index (the network): slower, same result
    options = ["--isolated", "--index-url", indexes[0]]  # --isolated: only these sources, nothing from the web
    options += [arg for url in indexes[1:] for arg in ("--extra-index-url", url)]
    return options + [arg for d in links for arg in ("--find-links", d)]


@dataclass
class Outcome:
    """What one command did in one install."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str
    seconds: float

    @property
    def kind(self) -> str:
        """"works", "needs <extras>" (exit 2 and one line naming them), "error" (another one-line error), or "FAILS"."""
        if self.code == 0:
            return "works"
        lines = self.err.strip().splitlines()
        if self.code != 2 or len(lines) != 1 or not lines[0].startswith("error: ") or "Traceback" in self.err:
            return "FAILS"
        extras = re.findall(r"pip install 'ganedge\[([a-z0-9,]+)\]'", lines[0])
        return f"needs {extras[0]}" if extras else "error"

    def describe(self) -> str:
        line = (self.err.strip().splitlines() or [""])[-1]
        return f"{' '.join(self.args)} -> exit {self.code}: {line[:300]}"


@dataclass
class Install:
    """One virtualenv holding the wheel with some extras; grows by :meth:`add`."""

    root: Path
    wheel: Path
    sources: list[str]
    extras: tuple[str, ...] = ()
    log: list[str] = field(default_factory=list)

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def label(self) -> str:
        return f"[{','.join(self.extras)}]" if self.extras else "ganedge"

    def create(self) -> Install:
        venv.EnvBuilder(with_pip=False, symlinks=True).create(self.root)
        return self.add(())

    def add(self, extras: tuple[str, ...]) -> Install:
        """Install the wheel with ``extras`` (on top of what is there)."""
        self.extras = tuple(sorted(set(self.extras) | set(extras)))
        spec = f"{self.wheel}[{','.join(self.extras)}]" if self.extras else str(self.wheel)
        started = time.perf_counter()
        result = self._pip_install(spec, self.sources)
        where = "local wheels" if self.sources else "pip's index"
        if result.returncode != 0 and self.sources and not os.environ.get("GANEDGE_WHEELHOUSE"):
            # A package this machine has no wheel of (it came from the index): pip's own configuration.
            result, where = self._pip_install(spec, []), "pip's index (not all wheels are on this machine)"
        if result.returncode != 0:
            raise RuntimeError(f"pip install {spec} failed:\n{result.stderr[-3000:]}")
        self.log.append(f"{self.label}: installed in {time.perf_counter() - started:.1f} s from {where}")
        return self

    def _pip_install(self, spec: str, sources: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pip", "--python", str(self.python), "install", "-q",
                               "--no-compile", "--disable-pip-version-check", *sources,
                               "-c", str(REPO / "constraints.txt"), spec], capture_output=True, text=True)

    def run(self, args: tuple[str, ...], cwd: Path, timeout: float = 180) -> Outcome:
        """``ganedge ARGS`` through the install's console script, from ``cwd`` (never the checkout)."""
        return self._run([str(self.root / "bin" / "ganedge"), *args], args, cwd, timeout)

    def run_python(self, script: Path, cwd: Path, timeout: float = 180) -> Outcome:
        """``python SCRIPT`` with the install's interpreter (the script's folder, not the checkout, on sys.path)."""
        return self._run([str(self.python), str(script)], ("python", script.name), cwd, timeout)

    def _run(self, argv: list[str], args: tuple[str, ...], cwd: Path, timeout: float) -> Outcome:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "GANEDGE_"))}
        env["PATH"] = f"{self.root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        started = time.perf_counter()
        result = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)
        return Outcome(args, result.returncode, result.stdout, result.stderr, time.perf_counter() - started)
