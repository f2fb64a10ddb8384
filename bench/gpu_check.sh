#!/usr/bin/env bash
# Every GPU check of ganedge in one call on a CUDA machine, ending with a summary.
#
#   make wheel && bash bench/gpu_check.sh           # full: gpu tests + the GPU benchmark (~3-4 min on an H100)
#   bash bench/gpu_check.sh --quick                 # gpu tests + a smaller benchmark (~1-2 min)
#   GPU_CHECK_DEVICE=cpu bash bench/gpu_check.sh    # dry run of every step on a CPU machine (the tests do this)
#
# 1. install: ganedge is pip-installed from its wheel, --no-deps --no-index, into a fresh folder
#    that goes first on PYTHONPATH; its dependencies (torch with CUDA, numpy, click, pillow,
#    safetensors, onnx, onnxruntime, pytest) are the machine's own. The wheel is $GANEDGE_WHEEL,
#    else dist/ganedge-*.whl (`make wheel`; carry dist/ to the GPU machine), checked file by file
#    against this checkout so a stale one is refused; with neither (or GANEDGE_WHEEL=build), one is
#    built from a copy of the checkout (needs setuptools and wheel there).
# 2. environment: versions, the GPU, and where ganedge was imported from.
# 3. pytest -m gpu over the repo's tests (GPU_CHECK_TESTS narrows them), run from a scratch folder
#    with --import-mode=append so the installed ganedge is imported, not the checkout's ganedge/
#    folder (it has no sdk/, export/, bench/: those are mapped in by the wheel). GANEDGE_EXPECT_INSTALL
#    makes tests/conftest.py refuse to run against any other copy.
# 4. the GPU benchmark (python -m ganedge.bench.gpu_bench: ganedge bench's engine over random DCGANs,
#    eager and CUDA graphs, fp32/bf16/fp16, end to end and compute by CUDA events).
# 5. a summary: one line per step.
#
# With $OUT set: environment.txt, gpu_tests.log, gpu_tests.xml, gpu_bench.json, gpu_bench.md and
# summary.txt there. Exit status: 0 when every step passed (gpu tests that cannot collect for want
# of an optional package are listed, not failed), 1 otherwise.
set -uo pipefail

QUICK=""
[[ "${1:-}" == "--quick" || "${GPU_CHECK_QUICK:-0}" == "1" ]] && QUICK="--quick"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
[[ "$PY" == */* ]] && PY="$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")"  # the steps below run elsewhere
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ganedge-gpu-check.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
OUTDIR="${OUT:-$WORK/out}"
mkdir -p "$OUTDIR"
TEST_TIMEOUT=$([[ -n "$QUICK" ]] && echo 120 || echo 180)
BENCH_TIMEOUT=$([[ -n "$QUICK" ]] && echo 150 || echo 330)
DEVICE="${GPU_CHECK_DEVICE:-cuda}"
TESTS="${GPU_CHECK_TESTS:-tests}"  # relative to the repo, e.g. tests/sdk or tests/gpu/test_uint8_gpu.py
BENCH_ARGS=($QUICK)
if [[ "$DEVICE" == "cpu" ]]; then  # dry run: exercise every step, measure nothing worth keeping
    BENCH_ARGS=(--device cpu --quick --models dcgan-32 --width 8 --batch-sizes 1,2 --precisions fp32
                --duration 0.02 --threads 1)
fi
started=$(date +%s)
SUMMARY=()

say() { printf '== %s\n' "$*"; }
finish() {  # the summary is the last thing printed
    say "summary ($(( $(date +%s) - started )) s)"
    printf '%s\n' "${SUMMARY[@]}" | tee "$OUTDIR/summary.txt"
    exit "$1"
}

# --- 1. install the wheel ---------------------------------------------------------------------
SITE="$WORK/site"
WHEEL="${GANEDGE_WHEEL:-}"
if [[ "$WHEEL" == "build" ]]; then
    WHEEL=""
elif [[ -z "$WHEEL" ]] && compgen -G "$REPO/dist/ganedge-*.whl" > /dev/null; then
    WHEEL="$(ls -t "$REPO"/dist/ganedge-*.whl | head -n 1)"
fi
if [[ -n "$WHEEL" ]]; then
    say "install: $WHEEL"
    if ! "$PY" - "$WHEEL" "$REPO" <<'EOF'
# The wheel must hold exactly this checkout's Python files (pyproject's package-dir mapping:
# ganedge/sdk <- sdk/, ganedge/export <- export/, ganedge/bench <- bench/, the rest <- ganedge/).
import sys, zipfile
from pathlib import Path
wheel, repo = sys.argv[1], Path(sys.argv[2])
SUBPACKAGES = ("sdk", "export", "bench")
def source(name):
    parts = name.split("/")
    return repo.joinpath(*parts[1:]) if len(parts) > 2 and parts[1] in SUBPACKAGES else repo.joinpath(*parts)
with zipfile.ZipFile(wheel) as archive:
    packed = {n: archive.read(n) for n in archive.namelist() if n.startswith("ganedge/") and n.endswith(".py")}
stale = [n for n, data in packed.items() if not source(n).is_file() or source(n).read_bytes() != data]
sources = {source(n) for n in packed}
tree = [p for root in ("ganedge", *SUBPACKAGES) for p in (repo / root).rglob("*.py")]
missing = [str(p.relative_to(repo)) for p in tree if p.parent.joinpath("__init__.py").is_file() and p not in sources]
if stale or missing:
    sys.exit(f"  the wheel is not this checkout: {len(stale)} file(s) differ (e.g. {(stale or ['-'])[0]}), "
             f"{len(missing)} missing (e.g. {(missing or ['-'])[0]})")
print(f"  the wheel matches this checkout ({len(packed)} Python files)")
EOF
    then
        SUMMARY+=("install: FAILED ($WHEEL is not this checkout; rebuild it with make wheel)")
        finish 1
    fi
else
    say "install: building a wheel from a copy of the checkout"
    mkdir -p "$WORK/src"
    (cd "$REPO" && tar --exclude=__pycache__ -cf - pyproject.toml README.md ganedge sdk export bench) | tar -xf - -C "$WORK/src"
    if ! "$PY" -m pip wheel --quiet --no-deps --no-build-isolation --no-index -w "$WORK/dist" "$WORK/src" > "$WORK/wheel.log" 2>&1; then
        tail -n 5 "$WORK/wheel.log"
        SUMMARY+=("install: FAILED (could not build the wheel; build it elsewhere with make wheel and carry dist/)")
        finish 1
    fi
    WHEEL="$(ls "$WORK"/dist/ganedge-*.whl)"
fi
if ! "$PY" -m pip install --quiet --no-deps --no-index --no-compile --target "$SITE" "$WHEEL"; then
    SUMMARY+=("install: FAILED (pip could not install $WHEEL)")
    finish 1
fi
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
export GANEDGE_EXPECT_INSTALL="$SITE"
cd "$WORK" || exit 1  # never the repo: its ganedge/ folder would shadow the installed package
SUMMARY+=("install: ok ($(basename "$WHEEL"))")

# --- 2. what this machine has ------------------------------------------------------------------
say "environment"
GPU_CHECK_DEVICE="$DEVICE" "$PY" - > "$WORK/env.txt" <<'EOF'
import importlib.metadata as md, importlib.util, os, platform, sys
from pathlib import Path
print(f"python {platform.python_version()} ({sys.executable})")
# module -> distribution; found without importing (fast, and no import side effects)
for name, dist in (("numpy", "numpy"), ("torch", "torch"), ("pytest", "pytest"), ("click", "click"),
                   ("PIL", "pillow"), ("onnx", "onnx"), ("onnxruntime", "onnxruntime"), ("safetensors", "safetensors"),
                   ("sklearn", "scikit-learn"), ("tensorrt", "tensorrt"), ("hypothesis", "hypothesis")):
    if importlib.util.find_spec(name) is None:
        print(f"  {name:12} MISSING")
        continue
    try:
        version = md.version(dist)
    except md.PackageNotFoundError:  # e.g. onnxruntime-gpu provides onnxruntime
        version = "present"
    print(f"  {name:12} {version}")
try:
    import numpy  # noqa: F401
    import torch
    import ganedge, ganedge.sdk, ganedge.bench.gpu_bench  # noqa: E401  (the installed package, whole)
except ImportError as exc:
    print(f"  cannot import {exc.name}: {exc}")
    sys.exit(3)
where = Path(ganedge.__file__).resolve().parent
print(f"  ganedge      {ganedge.__version__} from {where}")
if Path(os.environ["GANEDGE_EXPECT_INSTALL"]).resolve() not in where.parents:
    print(f"  ganedge was imported from {where}, not from the wheel installed in {os.environ['GANEDGE_EXPECT_INSTALL']}")
    sys.exit(3)
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print(f"  GPU          {p.name}, compute {p.major}.{p.minor}, {p.total_memory / 2**30:.0f} GiB, "
          f"CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}")
else:
    print("  GPU          NONE visible to torch")
    sys.exit(0 if os.environ.get("GPU_CHECK_DEVICE") == "cpu" else 3)
EOF
env_rc=$?
tee "$OUTDIR/environment.txt" < "$WORK/env.txt"
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader \
    | sed 's/^/  nvidia-smi   /' | tee -a "$OUTDIR/environment.txt"
if [[ $env_rc -ne 0 ]]; then
    say "error: this check needs numpy and torch with a visible CUDA GPU, and ganedge from the wheel (see above); nothing was run"
    SUMMARY+=("environment: FAILED (see environment.txt)")
    finish 1
fi
SUMMARY+=("environment: ok ($(grep -m1 '^  GPU' "$WORK/env.txt" | sed 's/^  GPU *//'); $(grep -m1 '^  ganedge' "$WORK/env.txt" | xargs))")

# --- 3. the gpu tests --------------------------------------------------------------------------
tests_rc=0
if "$PY" -c "import pytest" 2> /dev/null; then
    say "pytest -m gpu $TESTS (timeout ${TEST_TIMEOUT}s; modules whose imports are missing here are reported and skipped)"
    timeout -k 5 "$TEST_TIMEOUT" "$PY" -m pytest -m gpu -q -rA -p no:cacheprovider --import-mode=append \
        --rootdir "$REPO" -c "$REPO/pyproject.toml" --continue-on-collection-errors \
        --junitxml "$OUTDIR/gpu_tests.xml" "$REPO/$TESTS" > "$OUTDIR/gpu_tests.log" 2>&1
    tests_rc=$?
    grep -E "^(PASSED|FAILED|ERROR|SKIPPED)|passed|failed|error" "$OUTDIR/gpu_tests.log" | tail -n 25
    # 5 = nothing selected. Collection errors alone ("ERROR tests/x.py - ModuleNotFoundError": optional
    # deps missing here) are listed above but do not fail the check; failed or erroring tests do.
    if [[ $tests_rc -eq 5 ]] || { [[ $tests_rc -eq 1 ]] && ! grep -qE "[0-9]+ failed|^ERROR [^ ]+::" "$OUTDIR/gpu_tests.log"; }; then
        tests_rc=0
    fi
    counts="$(grep -E "[0-9]+ (passed|failed|skipped|deselected)" "$OUTDIR/gpu_tests.log" | tail -n 1 | tr -d '=' | xargs)"
    say "gpu tests: $([[ $tests_rc -eq 0 ]] && echo ok || echo "FAILED (exit $tests_rc, see gpu_tests.log)")"
    SUMMARY+=("gpu tests: $([[ $tests_rc -eq 0 ]] && echo ok || echo FAILED) (${counts:-no result line})")
else
    say "pytest is missing: gpu tests not run"
    SUMMARY+=("gpu tests: NOT RUN (no pytest on this machine)")
fi

# --- 4. the benchmark --------------------------------------------------------------------------
say "GPU benchmark on $DEVICE $([[ $DEVICE == cpu ]] && echo "(dry run)" || echo "${QUICK:-(full)}"), timeout ${BENCH_TIMEOUT}s; $(( $(date +%s) - started ))s so far"
timeout -k 5 "$BENCH_TIMEOUT" "$PY" -m ganedge.bench.gpu_bench "${BENCH_ARGS[@]}" --out "$OUTDIR"
bench_rc=$?
if [[ $bench_rc -eq 0 ]]; then
    rows="$("$PY" -c "import json, sys; r = json.load(open(sys.argv[1])); print(len(r['results']), 'rows;', (r['summary'] or ['-'])[0])" "$OUTDIR/gpu_bench.json")"
    SUMMARY+=("benchmark: ok ($rows)")
else
    say "benchmark FAILED (exit $bench_rc)"
    SUMMARY+=("benchmark: FAILED (exit $bench_rc)")
fi
[[ $tests_rc -eq 0 && $bench_rc -eq 0 ]]
finish $?
