"""The bulk-generation benchmark runs end to end and prints the ratios the closing notes quote."""

from __future__ import annotations

from ganedge.generate import bench


def test_bench_prints_every_configuration_and_both_ratios(uncond_onnx, capsys):
    bench.main([str(uncond_onnx), "--count", "128", "--repeats", "1", "--no-ray"])
    out = capsys.readouterr().out
    for row in ("sdk ", "sdk+png", "gen w1", "gen w2 ", "gen w2 npz"):
        assert f"  {row}" in out
    assert "CPU efficiency  (bar 0.90); while rendering" in out and "PNG encoding:" in out
    assert "ray 2" not in out  # --no-ray
