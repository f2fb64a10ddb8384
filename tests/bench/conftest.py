"""Real models for the bench tests: a tiny MLP run dir, its fp32 ONNX export and an fp16 variant.

Built with the export package's own steps (trace, manifest, fp16 conversion), so the bench
runs exactly the artifacts users get. One bench over them (``tiny_result``) is shared by the
tests that only read its output.
"""

from __future__ import annotations

from pathlib import Path

import pytest

MLP = dict(arch="mlp", size=16, latent_dim=32, width=32)


def export_onnx(run_dir: Path, folder: Path) -> tuple[Path, Path]:
    """``mlp.onnx`` (fp32) and ``mlp.fp16.onnx`` from one trace of the run dir's generator."""
    import onnx

    from ganedge.artifacts.onnx_meta import set_manifest
    from ganedge.export.precision import to_fp16
    from ganedge.export.torch_export import export_generator
    from ganedge.artifacts.run_dir import manifest_from_run
    from ganedge.models.load import load_generator

    generator, config, meta = load_generator(run_dir)
    manifest = manifest_from_run(run_dir, config, meta)
    model = export_generator(generator, manifest, opset=18)
    half = to_fp16(model)
    set_manifest(model, manifest)
    set_manifest(half, manifest.replace(precision="fp16"))
    paths = folder / "mlp.onnx", folder / "mlp.fp16.onnx"
    onnx.save(model, str(paths[0]))
    onnx.save(half, str(paths[1]))
    return paths


@pytest.fixture(scope="session")
def bench_models(make_run_dir, tmp_path_factory) -> dict[str, Path]:
    """``run`` (MLP run dir), ``fp32`` and ``fp16`` (its ONNX exports)."""
    run = make_run_dir(**MLP)
    fp32, fp16 = export_onnx(run, tmp_path_factory.mktemp("bench-models"))
    return {"run": run, "fp32": fp32, "fp16": fp16}


@pytest.fixture(scope="session")
def tiny_result(bench_models):
    """A complete bench (cold start, roofline, compute-only timing, quality without FD, concurrency)
    small enough for CI."""
    from ganedge.bench import BenchConfig, run_bench

    config = BenchConfig(models=(str(bench_models["run"]), str(bench_models["fp32"]), str(bench_models["fp16"])),
                         precisions=("fp32",), batch_sizes=(1, 4), duration_s=0.1, warmup_s=0.02, min_calls=3,
                         slices=2, device="cpu", threads=1, quality=True, quality_n=16, fd=False,
                         peak_probe_s=0.02, compute_only=True, concurrency=2)
    return run_bench(config)
