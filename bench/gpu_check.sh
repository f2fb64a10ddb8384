#!/usr/bin/env bash
# One-shot check of ganedge's GPU paths on a CUDA machine, prepared for a single short call.
#
#   bash bench/gpu_check.sh            # full: gpu tests + torch CUDA benchmark (expect ~3-4 min on an H100)
#   bash bench/gpu_check.sh --quick    # gpu tests + a smaller benchmark (~1-2 min)
#
# Uses the machine's python3 (torch with CUDA, numpy), not the repo's .venv. ganedge is not
# pip-installed: a temporary folder gets a `ganedge` package made of symlinks to ganedge/*
# plus sdk/, export/ and bench/ (the package-dir mapping of pyproject.toml) and goes on
# PYTHONPATH. Everything runs from that temporary folder, so the repo's own ganedge/ (which
# has no sdk/) never shadows it. Wheels for missing pure-Python packages (pytest, click,
# pillow, safetensors, ...) can be carried in $GANEDGE_WHEELS (default: .gpu-wheels/);
# they are installed with --no-index into the temporary folder.
#
# GPU_CHECK_DEVICE=cpu is a dry run for CPU machines (CI tests this script that way): no CUDA
# needed, a tiny benchmark; GPU_CHECK_TESTS narrows the test paths (default: tests/).
#
# Output: steps on stdout, the benchmark table LAST. With $OUT set: environment.txt,
# gpu_tests.log, gpu_tests.xml, gpu_bench.json and gpu_bench.md there.
# Exit status: 0 when the benchmark ran and the gpu tests passed (or none could run), 1 otherwise.
set -uo pipefail

QUICK=""
[[ "${1:-}" == "--quick" || "${GPU_CHECK_QUICK:-0}" == "1" ]] && QUICK="--quick"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ganedge-gpu-check.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
OUTDIR="${OUT:-$WORK/out}"
mkdir -p "$OUTDIR"
TEST_TIMEOUT=$([[ -n "$QUICK" ]] && echo 120 || echo 180)
BENCH_TIMEOUT=$([[ -n "$QUICK" ]] && echo 150 || echo 330)
DEVICE="${GPU_CHECK_DEVICE:-cuda}"
TESTS="${GPU_CHECK_TESTS:-tests}"  # relative to the repo, e.g. tests/sdk or tests/gpu/test_uint8_gpu.py
BENCH_ARGS=($QUICK --sdk)
if [[ "$DEVICE" == "cpu" ]]; then  # dry run: exercise every step, measure nothing worth keeping
    BENCH_ARGS=(--device cpu --quick --models dcgan-32 --width 8 --batch-sizes 1,2 --precisions fp32
                --duration 0.02 --threads 1)
fi
started=$(date +%s)

say() { printf '== %s\n' "$*"; }

# --- 1. the package as a symlink farm --------------------------------------------------------
PKG="$WORK/pkg/ganedge"
mkdir -p "$PKG"
for entry in "$REPO"/ganedge/*; do
    name="$(basename "$entry")"
    [[ "$name" == "__pycache__" ]] && continue
    ln -s "$entry" "$PKG/$name"
done
for sub in sdk export bench; do ln -s "$REPO/$sub" "$PKG/$sub"; done
# The tests are a package (tests/__init__.py): pytest puts the folder above it first on sys.path,
# and from the repo that folder's ganedge/ (no sdk/, export/, bench/) would shadow the farm's. So
# the tests run from a copy beside the farm; examples/ is linked for the tests that read it.
(cd "$REPO" && tar --exclude=__pycache__ -cf - tests) | tar -xf - -C "$WORK/pkg"
ln -s "$REPO/examples" "$WORK/pkg/examples"
PYPATH="$WORK/pkg"

# --- 2. carried wheels -------------------------------------------------------------------------
WHEELS="${GANEDGE_WHEELS:-$REPO/.gpu-wheels}"
if compgen -G "$WHEELS/*.whl" > /dev/null; then
    say "installing carried wheels from $WHEELS (no network)"
    if "$PY" -m pip install --quiet --no-index --no-deps --target "$WORK/site" "$WHEELS"/*.whl; then
        PYPATH="$WORK/pkg:$WORK/site"
    else
        say "warning: could not install the carried wheels; going on without them"
    fi
fi
export PYTHONPATH="$PYPATH${PYTHONPATH:+:$PYTHONPATH}"
cd "$WORK" || exit 1

# --- 3. what this machine has ------------------------------------------------------------------
say "environment"
GPU_CHECK_DEVICE="$DEVICE" "$PY" - > "$WORK/env.txt" <<'EOF'
import importlib.metadata as md, importlib.util, os, platform, sys
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
except ImportError:
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
    say "error: this check needs numpy and torch with a visible CUDA GPU (see the list above); nothing was run"
    exit 1
fi
if ! "$PY" -c "import ganedge.sdk, ganedge.export.trt, ganedge.bench.gpu_bench" 2> "$WORK/import.err"; then
    say "error: ganedge does not import from the symlinked package:"
    cat "$WORK/import.err"
    exit 1
fi

# --- 4. the gpu tests --------------------------------------------------------------------------
tests_rc=0
if "$PY" -c "import pytest" 2> /dev/null; then
    say "pytest -m gpu (timeout ${TEST_TIMEOUT}s; modules whose imports are missing here are reported and skipped)"
    timeout -k 5 "$TEST_TIMEOUT" "$PY" -m pytest -m gpu -q -rA -p no:cacheprovider --rootdir "$WORK/pkg" \
        -c "$REPO/pyproject.toml" --continue-on-collection-errors --junitxml "$OUTDIR/gpu_tests.xml" \
        "$WORK/pkg/$TESTS" > "$OUTDIR/gpu_tests.log" 2>&1
    tests_rc=$?
    grep -E "^(PASSED|FAILED|ERROR|SKIPPED)|passed|failed|error" "$OUTDIR/gpu_tests.log" | tail -n 25
    # 5 = nothing selected. Collection errors alone ("ERROR tests/x.py - ModuleNotFoundError": optional
    # deps missing here) are listed above but do not fail the check; failed or erroring tests do.
    if [[ $tests_rc -eq 5 ]] || { [[ $tests_rc -eq 1 ]] && ! grep -qE "[0-9]+ failed|^ERROR [^ ]+::" "$OUTDIR/gpu_tests.log"; }; then
        tests_rc=0
    fi
    say "gpu tests: $([[ $tests_rc -eq 0 ]] && echo ok || echo "FAILED (exit $tests_rc, see gpu_tests.log)")"
else
    say "pytest is missing: gpu tests not run (carry a pytest wheel in $WHEELS to run them)"
fi

# --- 5. the benchmark: its table is the last thing printed --------------------------------------
say "torch benchmark on $DEVICE $([[ $DEVICE == cpu ]] && echo "(dry run)" || echo "${QUICK:-(full)}"), timeout ${BENCH_TIMEOUT}s; $(( $(date +%s) - started ))s so far"
timeout -k 5 "$BENCH_TIMEOUT" "$PY" -m ganedge.bench.gpu_bench "${BENCH_ARGS[@]}" --out "$OUTDIR"
bench_rc=$?
[[ $bench_rc -ne 0 ]] && say "benchmark FAILED (exit $bench_rc)"
[[ $tests_rc -eq 0 && $bench_rc -eq 0 ]]
