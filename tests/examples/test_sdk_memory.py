"""RSS stays flat over 10,000 SDK calls (direct ``sample`` and through a ``Batcher``), measured in a
fresh subprocess so the test process's own allocations do not blur the figure."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CALLS = 10_000
WARMUP = 1_000
MAX_GROWTH_MB = 30.0

SCRIPT = r"""
import json, os, sys
from ganedge import sdk

PAGE = os.sysconf("SC_PAGE_SIZE")

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20

path, calls, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
g = sdk.load(path, device="cpu", threads=1)
batcher = sdk.Batcher(g, max_batch=16, max_delay_ms=0.0)

def call(i):
    # Alternate the two ways an application samples, with varying batch sizes and fresh seeds.
    if i % 2:
        images = g.sample(1 + i % 8, seed=i * 8)
    else:
        images = batcher.sample(seed=i * 8, n=1 + i % 4, timeout=60)
    assert images.dtype.name == "uint8"

for i in range(warmup):
    call(i)
marks = [(0, rss_mb())]
for i in range(calls):
    call(warmup + i)
    if (i + 1) % 2000 == 0:
        marks.append((i + 1, rss_mb()))
batcher.close()
g.close()
print(json.dumps({"marks": marks, "stats": vars(batcher.stats())}))
"""


@pytest.mark.slow
def test_rss_is_flat_over_10000_calls(small_onnx):
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(small_onnx), str(CALLS), str(WARMUP)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    marks = report["marks"]
    start, end = marks[0][1], marks[-1][1]
    assert marks[-1][0] == CALLS
    assert report["stats"]["requests"] == CALLS // 2 + WARMUP // 2 and report["stats"]["failed"] == 0
    print(f"\nRSS after warm-up {start:.1f} MB, after {CALLS} calls {end:.1f} MB; "
          f"marks {[(n, round(mb, 1)) for n, mb in marks]}")
    assert end - start < MAX_GROWTH_MB, f"RSS grew {end - start:.1f} MB over {CALLS} calls: {marks}"
