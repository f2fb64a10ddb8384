"""ganedge.js's seed -> latent and float -> uint8 against the Python they port, under Node."""

from __future__ import annotations

import numpy as np

from ganedge.exactmath import log_f32, sincos_f32
from ganedge.images import to_uint8_reference
from ganedge.latents import latents
from tests.web.conftest import WEB, run_node

GANEDGE_JS = WEB / "assets" / "ganedge.js"
EDGE_SEEDS = [0, 1, 2, 3, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**32 + 1, 2**53 - 1, 2**53, 2**53 + 1,
              2**62, 2**63 - 2, 2**63 - 1]
DIMS = (1, 2, 3, 64, 127, 128, 512)


def test_latents_bit_identical_for_10k_seeds(node, tmp_path):
    rng = np.random.default_rng(13)
    seeds = EDGE_SEEDS + list(range(4, 4004)) + [int(s) for s in rng.integers(0, 2**63, 6000 - len(EDGE_SEEDS),
                                                                                dtype=np.uint64)]
    assert len(seeds) == 10_000
    seeds_file = tmp_path / "seeds.txt"
    seeds_file.write_text("\n".join(map(str, seeds)) + "\n")
    out = tmp_path / "z.bin"
    run_node(node, "latents.mjs", GANEDGE_JS, seeds_file, ",".join(map(str, DIMS)), out)
    got = np.fromfile(out, dtype=np.float32)
    assert got.size == len(seeds) * sum(DIMS)
    offset = 0
    for dim in DIMS:
        js = got[offset:offset + len(seeds) * dim].reshape(len(seeds), dim)
        offset += js.size
        py = latents(seeds, dim)
        differ = np.nonzero(js.view(np.uint32) != py.view(np.uint32))
        assert differ[0].size == 0, (f"dim {dim}: {differ[0].size} values differ, first at seed "
                                     f"{seeds[differ[0][0]]} element {differ[1][0]}: {js[differ][0]!r} vs {py[differ][0]!r}")


def test_transcendentals_equal_python_on_every_possible_input(node, tmp_path):
    """log, cos and sin see 2**23 distinct float32 inputs each: all of them give the same bits in JS."""
    out = tmp_path / "math.bin"
    run_node(node, "exactmath.mjs", out)
    js = np.fromfile(out, dtype=np.float32).reshape(3, 1 << 23)
    u = (np.arange(1 << 23, dtype=np.uint32) | np.uint32(0x3F800000)).view(np.float32)
    r = np.float32(2.0) - u
    theta = (u - np.float32(1.5)) * np.float32(2.0 * np.pi)
    py_log, py_cos, py_sin = (np.empty_like(u) for _ in range(3))
    step = 1 << 16
    for i in range(0, u.size, step):
        log_f32(r[i:i + step], py_log[i:i + step])
        sincos_f32(theta[i:i + step], py_cos[i:i + step], py_sin[i:i + step])
    for name, a, b in (("log", js[0], py_log), ("cos", js[1], py_cos), ("sin", js[2], py_sin)):
        bad = np.count_nonzero(a.view(np.uint32) != b.view(np.uint32))
        assert bad == 0, f"{name}: {bad} of {1 << 23} inputs differ between Math.{name} and ganedge.exactmath"


def test_uint8_mapping_matches_python(node, tmp_path):
    rng = np.random.default_rng(0)
    boundaries = (np.arange(-2, 258, dtype=np.float64) - 128.0) / 127.5  # where x*127.5+128 crosses integers
    x = np.concatenate([
        rng.uniform(-1.2, 1.2, 20_000), boundaries, np.nextafter(boundaries, 9), np.nextafter(boundaries, -9),
        [-1.0, 1.0, 0.0, -0.0, 1e-30, -1e-30, 1e30, -1e30, 0.5, -0.5],
    ]).astype(np.float32)
    data = tmp_path / "x.bin"
    x.tofile(data)
    out = tmp_path / "u8.bin"
    run_node(node, "uint8.mjs", GANEDGE_JS, data, "-1,1", out)
    js = np.fromfile(out, dtype=np.uint8)
    expected = to_uint8_reference(x.reshape(1, 1, 1, -1)).ravel()
    assert np.array_equal(js, expected), f"{np.count_nonzero(js != expected)} values differ from ganedge.images"
    # Another output range: [0, 1] maps with scale 255, offset 0.5 (float32 throughout).
    run_node(node, "uint8.mjs", GANEDGE_JS, data, "0,1", out)
    expected01 = np.clip(np.floor(x * np.float32(255.0) + np.float32(0.5)), 0, 255).astype(np.uint8)
    assert np.array_equal(np.fromfile(out, dtype=np.uint8), expected01)


def test_slerp_properties(node):
    result = run_node(node, "slerp.mjs", GANEDGE_JS)
    checks = dict(line.split(" ", 1) for line in result.stdout.strip().splitlines())
    assert checks == {key: "ok" for key in checks} and len(checks) >= 5, result.stdout
