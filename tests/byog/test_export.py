"""Generators trained elsewhere, exported, gated and served: the zoo of tests/byog/generators end to end.

Each generator is exported once per session (fp32 + fp16) through the same pipeline as
``ganedge export onnx FILE.py:NAME``; the tests then hold every export to what a user of a
generator trained elsewhere needs: gates that pass honestly (fp16 with nodes kept in fp32 where
plain fp16 overflows), any batch size giving the same image per seed, the module and its export
agreeing under ``verify``, and each batch decision said in the report.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.byog import catalog

pytestmark = pytest.mark.slow


def _spec(entry: catalog.ByogGenerator):
    from ganedge.models.reference import ModuleSpec

    return ModuleSpec(latent_dim=entry.latent_dim, num_classes=entry.num_classes, output_range=entry.output_range)


def _load_options(entry: catalog.ByogGenerator) -> dict:
    return {"latent_dim": entry.latent_dim, "num_classes": entry.num_classes, "output_range": entry.output_range}


def _labels(entry: catalog.ByogGenerator, seeds) -> np.ndarray | None:
    return (np.asarray(seeds) % entry.num_classes).astype(np.int64) if entry.conditional else None


@pytest.fixture(scope="session")
def byog_exports(tmp_path_factory):
    """name -> (ExportResult, folder): every zoo generator exported to fp32 and fp16 once."""
    from ganedge.export.pipeline import ExportOptions, export_onnx

    folder = tmp_path_factory.mktemp("byog-exports")
    results = {}
    for entry in catalog.GENERATORS:
        options = ExportOptions(precisions=("fp32", "fp16"), fd=False)
        results[entry.name] = export_onnx(entry.ref, folder / f"{entry.name}.onnx", options, spec=_spec(entry))
    return results


@pytest.mark.parametrize("entry", catalog.GENERATORS, ids=lambda e: e.name)
def test_fp32_and_fp16_pass_their_gates(byog_exports, entry):
    result = byog_exports[entry.name]
    assert result.passed, result.failure_summary()
    fp32, fp16 = result.variants
    assert (fp32.precision, fp16.precision) == ("fp32", "fp16") and fp32.written and fp16.written
    assert fp32.gate.stats.max_abs <= 1e-4 and fp32.gate.images.max_level <= 1
    assert fp16.gate.images.psnr_db >= 40
    assert result.manifest.arch == entry.ref and result.manifest.output_range == entry.output_range
    assert result.manifest.image_shape == entry.image_shape


@pytest.mark.parametrize("entry", catalog.GENERATORS, ids=lambda e: e.name)
def test_fp16_keeps_nodes_in_fp32_exactly_where_plain_fp16_breaks(byog_exports, entry):
    fp16 = byog_exports[entry.name].variants[1]
    if entry.fp16 == "fine":
        assert fp16.kept_fp32 == []
    else:  # overflowing activations or weights beyond fp16's range: a few nodes stay fp32, and say so
        assert 0 < len(fp16.kept_fp32) <= 12, fp16.kept_fp32
        assert any("range" in step for step in fp16.fallback)
        from ganedge import sdk

        with sdk.load(fp16.path) as g:
            assert g.manifest.extra["export"]["kept_fp32"] == fp16.kept_fp32


def test_without_the_fallback_the_gate_sees_the_overflow_the_cpu_hides(tmp_path):
    """onnxruntime's CPU kernels compute fp16 Pow/ReduceMean in fp32, so plain fp16 scores well on the CPU;
    the gate's fp16 emulation still catches what every fp16 GPU would do (Inf -> flat images)."""
    from ganedge.export.pipeline import ExportOptions, export_onnx

    entry = catalog.FP16_OVERFLOW
    options = ExportOptions(precisions=("fp32", "fp16"), fd=False, fp16_fallback=False)
    result = export_onnx(entry.ref, tmp_path / "plain.onnx", options, spec=_spec(entry))
    fp16 = result.variants[1]
    assert not result.passed and fp16.failed and not fp16.written
    assert "emulated" in fp16.gate.against and fp16.gate.images.psnr_db < 40


@pytest.mark.parametrize("entry", catalog.GENERATORS, ids=lambda e: e.name)
def test_the_batch_decision_is_reported(byog_exports, entry):
    result = byog_exports[entry.name]
    if entry.dynamic_batch is True:
        assert result.batch == "dynamic" and result.fixed_batch is None
    else:  # StyleGAN2's grouped conv: no dynamic batch in ONNX, so a fixed one and the reason
        assert result.fixed_batch == 1 and result.batch.startswith("fixed at 1 (a dynamic batch does not export")


@pytest.mark.parametrize("entry", catalog.GENERATORS, ids=lambda e: e.name)
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_any_batch_size_gives_the_same_image_per_seed(byog_exports, entry, precision):
    from ganedge import sdk

    seeds = list(range(70, 70 + 64))
    variant = byog_exports[entry.name].variants[0 if precision == "fp32" else 1]
    with sdk.load(variant.path) as g:
        labels = _labels(entry, seeds)
        whole = g.sample_seeds(seeds, batch_size=64, labels=labels)
        for size in (1, 3):
            part = g.sample_seeds(seeds, batch_size=size, labels=labels)
            if precision == "fp32":  # bit for bit
                np.testing.assert_array_equal(part, whole)
            else:  # onnxruntime's CPU fp16 Gemm/Conv kernels round differently at M=1 than in a batch
                assert np.abs(part.astype(int) - whole).max() <= 1
        assert whole.std() > 10  # real pictures, not one flat colour


@pytest.mark.parametrize("entry", catalog.GENERATORS, ids=lambda e: e.name)
def test_verify_against_the_module_passes(cli, byog_exports, entry):
    path = byog_exports[entry.name].variants[0].path
    lo, hi = entry.output_range
    result = cli("verify", entry.ref, path, "--seeds", "0-15", "--latent-dim", entry.latent_dim,
                 "--num-classes", entry.num_classes, "--output-range", f"{lo},{hi}", "--json")
    assert result.code == 0, result
    report = result.json()
    assert report["a"]["backend"] == "torch" and report["b"]["backend"] == "onnxruntime"


def test_the_sdk_runs_a_module_reference_on_torch_like_its_export(byog_exports):
    from ganedge import sdk

    entry = catalog.BIGGAN
    with sdk.load(entry.ref, backend="torch", class_names=[f"c{i}" for i in range(10)], **_load_options(entry)) as g, \
            sdk.load(byog_exports[entry.name].variants[0].path) as onnx_g:
        assert g.backend == "torch" and g.manifest.class_names[3] == "c3"
        by_name = g.sample(4, seed=9, labels="c3")
        np.testing.assert_array_equal(by_name, g.sample(4, seed=9, labels=3))
        assert np.abs(by_name.astype(int) - onnx_g.sample(4, seed=9, labels=3)).max() <= 1


def test_bench_gives_rows_for_the_module_and_its_exports(cli, byog_exports, tmp_path):
    entry = catalog.DCGAN_SIGMOID
    fp32, fp16 = (v.path for v in byog_exports[entry.name].variants)
    report = tmp_path / "bench.json"
    result = cli("bench", entry.ref, fp32, fp16, "--latent-dim", entry.latent_dim, "--output-range", "0,1",
                 "--precisions", "fp32", "--batch-sizes", "1,4", "--duration", "0.2", "--warmup", "0.05",
                 "--slices", "2", "--no-cold-start", "--no-roofline", "--quiet", "--json", report)
    assert result.code == 0, result
    import json

    rows = json.loads(report.read_text())["results"]
    seen = {(r["model"], r["backend"], r["precision"], r["batch_size"]) for r in rows}
    for model, backend, precision in ((entry.ref.split("/")[-1], "torch", "fp32"), (fp32.name, "onnxruntime", "fp32"),
                                      (fp16.name, "onnxruntime", "fp16")):
        assert {(model, backend, precision, b) for b in (1, 4)} <= seen, seen
    assert all(r["images_per_s"] > 0 for r in rows)
