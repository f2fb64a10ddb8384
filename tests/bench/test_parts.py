"""Light imports, FLOP counting, concurrency and cold start on the real tiny models."""

import subprocess
import sys

import pytest

from ganedge.bench.variants import close_variants, expand_variants, load_variants, resolve_artifacts
from ganedge.errors import BadInputError

HEAVY = ("torch", "onnxruntime", "onnx", "matplotlib", "tensorrt")


@pytest.mark.parametrize("module", ["ganedge.bench", "ganedge.cli.bench", "ganedge.bench.core", "ganedge.bench.report"])
def test_imports_stay_light(module):
    code = f"import sys, {module}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} imported {result.stdout.strip()}"


def test_onnx_and_torch_flop_counts_agree(bench_models):
    from ganedge.bench.flops import onnx_flops, run_dir_flops

    torch_count = run_dir_flops(bench_models["run"])
    onnx_count = onnx_flops(bench_models["fp32"])
    assert torch_count == 2 * (32 * 32 + 32 * 32 + 32 * 768)
    # the graph counter adds bias adds and activations: a few percent, never less than the MACs
    assert torch_count <= onnx_count <= 1.05 * torch_count


@pytest.fixture
def onnx_variant(bench_models):
    variants = expand_variants(resolve_artifacts([bench_models["fp32"]]), (), ("fp32",))
    load_variants(variants, "cpu", 1)
    yield variants[0]
    close_variants(variants)


def test_concurrency_direct_vs_batcher(onnx_variant):
    from ganedge.bench.concurrency import measure_concurrency

    rows = measure_concurrency(onnx_variant, clients=3, duration_s=0.1, slices=2, max_batch=8, max_delay_ms=1.0)
    assert [r["mode"] for r in rows] == ["direct", "batcher"]
    for row in rows:
        assert row["clients"] == 3 and row["requests"] > 0 and row["requests_per_s"] > 0
        assert row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]
    assert 1 <= rows[1]["mean_batch"] <= 8


def test_cold_start_runs_in_a_fresh_process(onnx_variant):
    import numpy as np

    from ganedge.bench.coldstart import run_in_subprocess

    # A large parent must not leak into the child's figure (exec folds the parent's
    # high-water mark into ru_maxrss, which is why the child reads VmHWM).
    ballast = np.ones(512 * 2**20, dtype=np.uint8)  # 512 MiB, touched
    spec = {"path": str(onnx_variant.artifact.path), "batch_size": 2, "seed": 0,
            "load_kwargs": onnx_variant.load_kwargs("cpu", 1)}
    result = run_in_subprocess(spec, timeout_s=120)
    assert ballast[-1] == 1
    assert result["load_s"] > 0 and result["first_call_s"] > 0 and result["steady_call_s"] > 0
    assert 0 < result["rss_before_load_mb"] <= result["peak_mem_mb"] < 400  # a tiny MLP on onnxruntime
    assert result["process_s"] > result["load_s"] + result["first_call_s"]


def test_cold_start_failure_is_reported(tmp_path):
    from ganedge.bench.coldstart import run_in_subprocess

    with pytest.raises(RuntimeError, match="does not exist"):
        run_in_subprocess({"path": str(tmp_path / "gone.onnx"), "batch_size": 1, "load_kwargs": {}}, timeout_s=60)


def test_variants_follow_the_artifacts(bench_models):
    artifacts = resolve_artifacts([bench_models["run"], bench_models["fp32"], bench_models["fp32"], bench_models["fp16"]])
    assert [a.kind for a in artifacts] == ["run_dir", "onnx", "onnx"]  # the repeated file counts once
    variants = expand_variants(artifacts, (), ("fp32", "bf16"))
    assert [(v.artifact.backend, v.requested_precision) for v in variants] == [
        ("torch", "fp32"), ("torch", "bf16"), ("onnxruntime", None), ("onnxruntime", None)]
    only_onnx = expand_variants(artifacts, ("onnxruntime",), ("fp32",))
    assert [v.artifact.path for v in only_onnx] == [bench_models["fp32"], bench_models["fp16"]]
    torch_fp32 = expand_variants(artifacts, ("torch",), ("fp32",))[0]
    assert torch_fp32.load_kwargs("cpu", 2) == {"backend": "torch", "device": "cpu", "threads": 2, "precision": "fp32"}


def test_modes_apply_to_run_dirs_and_graphs_load_as_cuda_graphs(bench_models):
    artifacts = resolve_artifacts([bench_models["run"], bench_models["fp32"]])
    variants = expand_variants(artifacts, (), ("fp32", "bf16"), ("eager", "graphs"))
    assert [(v.artifact.kind, v.requested_precision, v.mode) for v in variants] == [
        ("run_dir", "fp32", "eager"), ("run_dir", "fp32", "graphs"), ("run_dir", "bf16", "eager"),
        ("run_dir", "bf16", "graphs"), ("onnx", None, None)]
    graphs = variants[1]
    assert graphs.load_kwargs("cuda", None)["cuda_graphs"] is True and "cuda_graphs" not in variants[0].load_kwargs("cuda", 1)
    with pytest.raises(BadInputError, match="--modes: 'lazy'"):
        expand_variants(artifacts, (), ("fp32",), ("lazy",))


def test_traffic_of_a_run_dir(bench_models):
    from ganedge.bench.flops import count_traffic, torch_source_cost

    flops, traffic = torch_source_cost(str(bench_models["run"].resolve()))
    # MLP 32 -> 32 -> 32 -> 768 at fp32: the weights and biases, and every layer's input and output once.
    weights = 4 * (32 * 32 + 32 + 32 * 32 + 32 + 32 * 768 + 768)
    assert flops > 0 and traffic.weight_bytes >= weights
    assert traffic.bytes_per_sample(1) == traffic.activation_bytes + traffic.weight_bytes
    assert traffic.bytes_per_sample(8, "bf16") == pytest.approx((traffic.activation_bytes + traffic.weight_bytes / 8) / 2)
    variants = expand_variants(resolve_artifacts([bench_models["run"], bench_models["fp32"]]), (), ("fp32",))
    counted = count_traffic(variants)
    assert counted == {id(variants[0]): traffic}  # exported graphs: their runtime decides what moves
