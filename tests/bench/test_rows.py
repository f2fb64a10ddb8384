"""Row judgements: stability warnings, the quality budget, and the summary line that names the fastest."""

from types import SimpleNamespace

from ganedge.bench.rows import stability_warnings, summary_lines, within_budget


def row(**fields):
    base = {"model": "m.onnx", "backend": "onnxruntime", "precision": "int8", "batch_size": 8, "images_per_s": 100.0,
            "p99_ms": 5.0, "quality_reference": "m torch/fp32", "max_level_diff": 3, "psnr_db": 35.0,
            "fd_increase": 0.05}
    base.update(fields)
    return base


def test_within_budget():
    assert within_budget(row(), 30, 0.10)
    assert not within_budget(row(psnr_db=29.9), 30, 0.10)
    assert not within_budget(row(fd_increase=0.2), 30, 0.10)
    assert within_budget(row(fd_increase=None), 30, 0.10)  # FD not measured: PSNR decides
    assert within_budget(row(psnr_db=None, max_level_diff=0), 30, 0.10)  # identical to the reference
    assert not within_budget(row(psnr_db=None, max_level_diff=2), 30, 0.10)
    assert within_budget(row(quality_reference=None), 30, 0.10) is None  # nothing to compare with


def test_summary_names_the_fastest_row_within_budget():
    config = SimpleNamespace(quality=True, min_psnr=30.0, max_fd_increase=0.10)
    rows = [row(precision="fp32", psnr_db=None, max_level_diff=0, fd_increase=0.0, images_per_s=50.0),
            row(precision="int8", images_per_s=300.0, psnr_db=25.0),  # fastest, but too lossy
            row(precision="fp16", images_per_s=120.0, psnr_db=45.0, fd_increase=0.01, batch_size=1, p99_ms=2.0)]
    lines = summary_lines(rows, config)
    assert lines[0].startswith("fastest within the quality budget") and "onnxruntime/fp16 b=1" in lines[0]
    assert "PSNR 45.0 dB" in lines[0]
    assert any("highest throughput" in line and "int8" in line for line in lines)
    assert any("lowest p99 latency at batch 1" in line and "fp16" in line for line in lines)
    none_fit = summary_lines([row(psnr_db=10.0)], config)
    assert none_fit[0].startswith("no configuration meets the quality budget")


def test_stability_warnings_name_few_rows_and_summarise_many():
    steady, shaky, single = row(cv=0.02, n_calls=50), row(cv=0.3, n_calls=50, batch_size=1), row(cv=None, n_calls=1)
    rows = [steady, shaky, single]
    warnings = stability_warnings(rows, max_cv=0.10)
    assert [r["unstable"] for r in rows] == [False, True, True]
    assert len(warnings) == 2
    assert "b=1" in warnings[0] and "cv 30%" in warnings[0] and "> 10%" in warnings[0]
    assert "only 1 timed call" in warnings[1]
    many = [row(cv=0.2 + i / 100, batch_size=i) for i in range(5)] + [row(cv=0.01)]
    (line,) = stability_warnings(many, max_cv=0.10)
    assert line.startswith("5 of 6 configurations") and "b=4" in line and "cv 24%" in line
