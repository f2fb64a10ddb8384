"""The openvino backend: parity with onnxruntime, the bf16 gate, batch sizes, threads, closing, options.

Real OpenVINO compiles of real exports (tests/sdk/conftest.py's ``models``) and of small hand-built
graphs; skipped where OpenVINO is not installed (``make test`` installs it).
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from ganedge import sdk
from ganedge.artifacts.manifest import ONNX_METADATA_KEY, Manifest
from ganedge.errors import ArtifactError, BadInputError, ClosedError
from ganedge.images import psnr

pytest.importorskip("openvino")

SEEDS = 24


def _labels(g, n):
    return [i % g.manifest.num_classes for i in range(n)] if g.manifest.conditional else None


def _native_bf16() -> bool:
    from ganedge.sdk.backends.openvino.loader import cpu_support

    return cpu_support().native_bf16


def hand_built(root: Path, name: str, *, scale: float = 1.0, batch: int | str = "batch", manifest: bool = True) -> Path:
    """image = sin(z @ W) reshaped to (1, 4, 4): with a large ``scale`` a tiny error in the product is a
    large error in the image (bf16 fails its gate); ``batch`` an int gives a fixed-batch graph."""
    import onnx
    from onnx import TensorProto, helper

    dim, pixels = 8, 16
    weights = (np.random.default_rng(0).standard_normal((dim, pixels)) * scale).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["z", "W"], ["y"]), helper.make_node("Sin", ["y"], ["s"]),
         helper.make_node("Reshape", ["s", "shape"], ["image"])], name,
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [batch, dim])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [batch, 1, 4, 4])],
        [helper.make_tensor("W", TensorProto.FLOAT, weights.shape, weights.ravel().tolist()),
         helper.make_tensor("shape", TensorProto.INT64, [4], [-1, 1, 4, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if manifest:
        entry = model.metadata_props.add()
        entry.key, entry.value = ONNX_METADATA_KEY, Manifest(arch="test-sin", latent_dim=dim, image_shape=(1, 4, 4)).to_json()
    path = root / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("name", ["mlp", "dcgan", "cond"])
def test_fp32_matches_onnxruntime_within_one_level(models, name):
    with sdk.load(models[name], backend="onnxruntime") as ref, sdk.load(models[name], backend="openvino") as g:
        assert (g.backend, g.device, g.precision) == ("openvino", "cpu", "fp32")
        labels = _labels(g, SEEDS)
        a, b = ref.sample(SEEDS, seed=3, labels=labels), g.sample(SEEDS, seed=3, labels=labels)
        assert a.shape == b.shape and a.dtype == b.dtype == np.uint8
        assert int(np.abs(a.astype(int) - b).max()) <= 1
        z = g.latents(range(SEEDS))
        assert float(np.abs(ref.generate(z, labels=labels) - g.generate(z, labels=labels)).max()) < 1e-4


def test_backend_info_says_what_ran_and_why(models):
    with sdk.load(models["dcgan"], backend="ov", threads=1) as g:
        info = g.backend_info
    assert info["backend"] == "openvino" and info["inference_precision"] == "fp32" and info["threads"] == 1
    assert info["precision_reason"] == "fp32: requested" and info["performance_hint"] == "latency"
    assert info["cpu"]["model"] and "FP32" in info["cpu"]["openvino_capabilities"]
    assert isinstance(info["cpu"]["native_bf16"], bool) and info["openvino"][0].isdigit()
    assert "backend openvino: requested" in info["selected"] and "auto" not in info
    json.dumps(info)


def test_bf16_runs_where_native_and_is_refused_elsewhere(models):
    if not _native_bf16():
        with pytest.raises(BadInputError, match="natively"):
            sdk.load(models["dcgan"], backend="openvino", precision="bf16")
        with sdk.load(models["dcgan"], backend="openvino", precision="auto") as g:
            assert g.precision == "fp32" and "no native bf16" in g.backend_info["precision_reason"]
        return
    with sdk.load(models["dcgan"], backend="onnxruntime") as ref, \
            sdk.load(models["dcgan"], backend="openvino", precision="bf16") as g:
        info = g.backend_info
        assert g.precision == info["inference_precision"] == "bf16"
        assert info["bf16_gate"]["passed"] and info["bf16_gate"]["min_psnr_db"] == 40.0
        assert psnr(ref.sample(SEEDS, seed=100), g.sample(SEEDS, seed=100)) >= 40.0


def test_bf16_below_its_gate_falls_back_to_fp32_and_says_so(tmp_path):
    if not _native_bf16():
        pytest.skip("this CPU has no native bf16: the gate never runs")
    model = hand_built(tmp_path, "sin", scale=300.0)  # |z @ W| ~ 1000 rad: bf16's 8-bit mantissa scrambles sin
    for precision in ("auto", "bf16"):
        with sdk.load(model, backend="openvino", precision=precision) as g:
            info = g.backend_info
            assert g.precision == "fp32" and info["inference_precision"] == "fp32"
            assert not info["bf16_gate"]["passed"] and info["bf16_gate"]["psnr_db"] < 40
            assert "bf16 failed its gate" in info["precision_reason"]


def test_bf16_gate_is_cached_per_model(tmp_path, private_user_cache):
    if not _native_bf16():
        pytest.skip("this CPU has no native bf16: the gate never runs")
    model = hand_built(tmp_path, "gate-cache", scale=0.7)  # a graph no other test gates (the key is its sha256)
    with sdk.load(model, backend="openvino", precision="auto") as g:
        first = g.backend_info["bf16_gate"]
    with sdk.load(model, backend="openvino", precision="auto") as g:
        second = g.backend_info["bf16_gate"]
    assert not first["cached"] and second["cached"] and second["psnr_db"] == first["psnr_db"]
    cache_file = Path(first["cache_file"])
    assert cache_file.is_relative_to(private_user_cache) and json.loads(cache_file.read_text())["value"]["psnr_db"]
    cache_file.write_text("{not json")  # a damaged entry is measured again, never an error
    with sdk.load(model, backend="openvino", precision="auto") as g:
        assert not g.backend_info["bf16_gate"]["cached"]


def test_images_across_batch_sizes_stay_within_one_level(models):
    """What holds for OpenVINO: its kernels split work by batch size when several threads run, so
    floats may differ in the last bits between batch sizes (a uint8 level at most); onnxruntime is
    the runtime that gives the same bits at every batch size (the default of backend="auto")."""
    with sdk.load(models["dcgan"], backend="openvino", threads=2) as g:
        whole = g.sample(40, seed=0)
        for batch_size in (1, 3, 5, 8):
            other = g.sample(40, seed=0, batch_size=batch_size)
            assert int(np.abs(whole.astype(int) - other).max()) <= 1, batch_size
        assert int(np.abs(g.sample(1, seed=5)[0].astype(int) - whole[5]).max()) <= 1


def test_eight_calling_threads_get_what_one_thread_gets(models):
    with sdk.load(models["cond"], backend="openvino") as g:
        jobs = [(seed, n, bs) for seed, n, bs in zip(range(0, 800, 100), (1, 3, 8, 5, 2, 7, 4, 6), (1, 2, 8, 3, 1, 4, 2, 6))]
        expected = {job: g.sample(job[1], seed=job[0], batch_size=job[2], labels=job[0] % 10) for job in jobs}
        barrier = threading.Barrier(len(jobs))

        def work(job):
            barrier.wait()  # all eight start together, so their calls overlap
            return [g.sample(job[1], seed=job[0], batch_size=job[2], labels=job[0] % 10) for _ in range(3)]

        with ThreadPoolExecutor(len(jobs)) as pool:
            results = dict(zip(jobs, pool.map(work, jobs)))
    for job, repeats in results.items():
        for images in repeats:
            np.testing.assert_array_equal(images, expected[job])


def test_closed_generator_and_runner_refuse_calls(models):
    g = sdk.load(models["mlp"], backend="openvino")
    runner = g.runner
    g.sample(2)
    g.close()
    g.close()  # idempotent
    with pytest.raises(ClosedError):
        g.sample(1)
    with pytest.raises(ClosedError, match="closed"):
        runner.run(g.latents([0]))


def test_fixed_batch_graph_is_split_and_padded(tmp_path):
    model = hand_built(tmp_path, "fixed4", batch=4)
    with sdk.load(model, backend="onnxruntime") as ref, sdk.load(model, backend="openvino") as g:
        assert g.backend_info["fixed_batch"] == 4
        for n in (1, 4, 9):
            assert int(np.abs(ref.sample(n, seed=7).astype(int) - g.sample(n, seed=7)).max()) <= 1


def test_foreign_file_needs_a_manifest(tmp_path):
    model = hand_built(tmp_path, "foreign", manifest=False)
    with pytest.raises(ArtifactError, match="no ganedge manifest"):
        sdk.load(model, backend="openvino")
    described = Manifest(arch="foreign", latent_dim=8, image_shape=(1, 4, 4))
    with sdk.load(model, backend="openvino", manifest=described) as g:
        assert g.sample(3).shape == (3, 4, 4, 1)
    wrong = Manifest(arch="foreign", latent_dim=9, image_shape=(1, 4, 4))
    with pytest.raises(ArtifactError, match="does not match the graph"):
        sdk.load(model, backend="openvino", manifest=wrong)


@pytest.mark.parametrize("kwargs, match", [
    ({"precision": "fp16"}, "precision 'fp16'"),
    ({"performance_hint": "fastest"}, "performance_hint 'fastest'"),
    ({"device": "cuda"}, "runs on the CPU"),
    ({"provider": "cpu"}, "unknown option 'provider' for the openvino backend"),
    ({"threads": 0}, "threads"),
    ({"config": ["NUM_STREAMS"]}, "config= must be a dict"),
])
def test_bad_options_are_refused_before_compiling(models, kwargs, match):
    with pytest.raises(BadInputError, match=match):
        sdk.load(models["mlp"], backend="openvino", **kwargs)


def test_throughput_hint_and_passthrough_config(models):
    with sdk.load(models["mlp"], backend="openvino", performance_hint="throughput",
                  config={"ENABLE_CPU_PINNING": False}) as g:
        info = g.backend_info
        assert info["performance_hint"] == "throughput" and info["streams"] >= 1
        assert info["config"] == {"ENABLE_CPU_PINNING": "False"}
        assert g.sample(5).shape == (5, 16, 16, 3)


def test_onnx_safety_scan_runs_first(tmp_path):
    path = tmp_path / "cut.onnx"
    path.write_bytes(b"\x08\x07\x12")
    with pytest.raises(ArtifactError, match="truncated|not an ONNX model"):
        sdk.load(path, backend="openvino")
