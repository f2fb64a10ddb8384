"""`ganedge export triton`: the repository it writes, parsed with the model-config protobuf that
tritonclient ships (what Triton itself parses), field by field; the refusals; atomic replacement."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from ganedge.artifacts.manifest import Manifest

HAS_TENSORRT = importlib.util.find_spec("tensorrt") is not None


def parse_config(model_dir: Path) -> mc.ModelConfig:
    return text_format.Parse((model_dir / "config.pbtxt").read_text(), mc.ModelConfig())


def onnx_manifest(path: Path) -> Manifest:
    from ganedge import sdk

    with sdk.load(path, device="cpu") as g:
        return g.manifest


def test_onnx_repository_every_field(cli, small_onnx, tmp_path):
    repo = tmp_path / "repo"
    result = cli("export", "triton", small_onnx, "-o", repo, "--name", "gan", "--max-batch", "16",
                     "--preferred-batch-sizes", "4,8", "--max-queue-delay-us", "250", "--instances", "2",
                     "--kind", "KIND_CPU", "--max-queue-size", "32", "--json")
    assert result.code == 0, result
    report = json.loads(result.out)  # exactly one JSON object
    assert report["name"] == "gan" and report["platform"] == "onnxruntime_onnx" and report["max_batch_size"] == 16
    model_dir = repo / "gan"
    assert sorted(p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*")) == \
        ["1", "1/model.onnx", "config.pbtxt", "ganedge.json"]
    assert (model_dir / "1" / "model.onnx").read_bytes() == small_onnx.read_bytes()
    assert [p.name for p in repo.iterdir()] == ["gan"], "a staging folder was left in the repository"

    c = parse_config(model_dir)
    assert c.name == "gan" and c.platform == "onnxruntime_onnx" and c.default_model_filename == "model.onnx"
    assert c.max_batch_size == 16
    assert [(i.name, i.data_type, list(i.dims), i.HasField("reshape")) for i in c.input] == \
        [("z", mc.TYPE_FP32, [32], False)]
    assert [(o.name, o.data_type, list(o.dims)) for o in c.output] == [("image", mc.TYPE_FP32, [3, 16, 16])]
    assert list(c.dynamic_batching.preferred_batch_size) == [4, 8]
    assert c.dynamic_batching.max_queue_delay_microseconds == 250
    assert c.dynamic_batching.default_queue_policy.max_queue_size == 32
    assert [(g.count, g.kind) for g in c.instance_group] == [(2, mc.ModelInstanceGroup.KIND_CPU)]
    (warmup,) = c.model_warmup
    assert warmup.batch_size == 1 and set(warmup.inputs) == {"z"}
    assert warmup.inputs["z"].data_type == mc.TYPE_FP32 and list(warmup.inputs["z"].dims) == [32]
    assert warmup.inputs["z"].zero_data
    assert set(c.parameters) == {"ganedge_manifest"}

    source = onnx_manifest(small_onnx)
    in_config = Manifest.from_json(c.parameters["ganedge_manifest"].string_value)
    beside = Manifest.from_json((model_dir / "ganedge.json").read_text())
    assert in_config == beside
    assert in_config.replace(extra={k: v for k, v in in_config.extra.items() if k != "triton"}) == source
    assert in_config.extra["triton"] == {"artifact": "1/model.onnx", "source_file": small_onnx.name,
                                         "artifact_sha256": hashlib.sha256(small_onnx.read_bytes()).hexdigest(),
                                         "max_batch_size": 16}


def test_defaults_and_the_copy_renders_the_same_images(cli, small_onnx, reference, tmp_path):
    from ganedge import sdk

    result = cli("export", "triton", small_onnx, "-o", tmp_path / "repo")
    assert result.code == 0, result
    assert "tritonserver --model-repository" in result.out and "perf_analyzer -m dcgan16" in result.out
    c = parse_config(tmp_path / "repo" / "dcgan16")  # the name defaults to the file's stem
    assert c.max_batch_size == 64 and c.dynamic_batching.max_queue_delay_microseconds == 100
    assert not c.dynamic_batching.preferred_batch_size and not c.dynamic_batching.HasField("default_queue_policy")
    assert [(g.count, g.kind) for g in c.instance_group] == [(1, mc.ModelInstanceGroup.KIND_AUTO)]
    with sdk.load(tmp_path / "repo" / "dcgan16" / "1" / "model.onnx", device="cpu") as g:
        assert np.array_equal(g.sample(8, seed=9), reference.sample(8, seed=9))


def test_conditional_label_is_int64_one_reshaped_to_scalar(cli, conditional_onnx, tmp_path):
    result = cli("export", "triton", conditional_onnx, "-o", tmp_path / "repo", "--name", "cond", "--version", "3",
                     "--no-warmup")
    assert result.code == 0, result
    assert "--input-data zero" in result.out  # random labels would be out of range for perf_analyzer
    c = parse_config(tmp_path / "repo" / "cond")
    assert (tmp_path / "repo" / "cond" / "3" / "model.onnx").is_file()
    z, label = c.input
    assert (z.name, z.data_type, list(z.dims)) == ("z", mc.TYPE_FP32, [32])
    assert (label.name, label.data_type, list(label.dims)) == ("label", mc.TYPE_INT64, [1])
    assert label.HasField("reshape") and list(label.reshape.shape) == []
    assert not c.model_warmup


def test_no_batching_keeps_the_batch_dim_and_refuses_batcher_options(cli, conditional_onnx, tmp_path):
    assert cli("export", "triton", conditional_onnx, "-o", tmp_path / "repo", "--max-batch", "0").code == 0
    c = parse_config(tmp_path / "repo" / "mlp16c")
    assert c.max_batch_size == 0 and not c.HasField("dynamic_batching")
    assert [list(i.dims) for i in c.input] == [[-1, 32], [-1]] and list(c.output[0].dims) == [-1, 3, 16, 16]
    assert list(c.model_warmup[0].inputs["label"].dims) == [1]  # -1 becomes one image
    refused = cli("export", "triton", conditional_onnx, "-o", tmp_path / "repo2", "--max-batch", "0",
                      "--preferred-batch-sizes", "4")
    assert refused.code == 2 and "--max-batch >= 1" in refused.err and not (tmp_path / "repo2").exists()


def test_fixed_batch_onnx_needs_max_batch_zero(cli, small_onnx, tmp_path):
    import onnx

    model = onnx.load(str(small_onnx))
    for value in (*model.graph.input, *model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_value = 4  # a model exported for batch 4 only
    fixed = tmp_path / "fixed.onnx"
    onnx.save(model, str(fixed))
    assert cli("export", "triton", fixed, "-o", tmp_path / "repo").code == 0
    c = parse_config(tmp_path / "repo" / "fixed")
    assert c.max_batch_size == 0 and list(c.input[0].dims) == [4, 32] and list(c.output[0].dims) == [4, 3, 16, 16]
    refused = cli("export", "triton", fixed, "-o", tmp_path / "repo2", "--max-batch", "8")
    assert refused.code == 2 and "fixed batch of 4" in refused.err


def test_external_data_travels_with_the_model(cli, small_onnx, reference, tmp_path):
    import onnx

    from ganedge import sdk

    source = tmp_path / "src"
    source.mkdir()
    onnx.save_model(onnx.load(str(small_onnx)), str(source / "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="weights.bin", size_threshold=1024)
    assert cli("export", "triton", source / "model.onnx", "-o", tmp_path / "repo", "--name", "ext").code == 0
    version = tmp_path / "repo" / "ext" / "1"
    assert sorted(p.name for p in version.iterdir()) == ["model.onnx", "weights.bin"]
    shutil.rmtree(source)  # the repository must not depend on where the model came from
    with sdk.load(version / "model.onnx", device="cpu") as g:
        assert np.array_equal(g.sample(4, seed=2), reference.sample(4, seed=2))


def test_existing_model_is_replaced_only_with_force(cli, small_onnx, conditional_onnx, tmp_path):
    repo = tmp_path / "repo"
    assert cli("export", "triton", small_onnx, "-o", repo, "--name", "gan").code == 0
    before = (repo / "gan" / "config.pbtxt").read_text()
    again = cli("export", "triton", conditional_onnx, "-o", repo, "--name", "gan")
    assert again.code == 2 and "--force" in again.err
    assert (repo / "gan" / "config.pbtxt").read_text() == before
    forced = cli("export", "triton", conditional_onnx, "-o", repo, "--name", "gan", "--force", "--json")
    assert forced.code == 0 and json.loads(forced.out)["replaced"] is True
    assert [i.name for i in parse_config(repo / "gan").input] == ["z", "label"]
    assert (repo / "gan" / "1" / "model.onnx").read_bytes() == conditional_onnx.read_bytes()
    assert [p.name for p in repo.iterdir()] == ["gan"], "the old model or a staging folder was left behind"


@pytest.mark.parametrize("args, message", [
    (["--preferred-batch-sizes", "4,128"], "outside 1..64"),
    (["--name", "../escape"], "not a valid Triton model name"),
    (["--name", ".hidden"], "not a valid Triton model name"),
    (["--name", "a/b"], "not a valid Triton model name"),
    (["--preferred-batch-sizes", "0"], "below the minimum"),
    (["--instances", "0"], "--instances"),
    (["--version", "0"], "--version"),
    (["--kind", "KIND_TPU"], "--kind"),
])
def test_bad_options_are_refused(cli, small_onnx, tmp_path, args, message):
    result = cli("export", "triton", small_onnx, "-o", tmp_path / "repo", *args)
    assert result.code == 2, result
    assert message in result.err
    assert not (tmp_path / "repo").exists() or not any((tmp_path / "repo").iterdir())


def test_run_directory_gets_a_hint_to_export_first(cli, small_run, tmp_path):
    result = cli("export", "triton", small_run, "-o", tmp_path / "repo")
    assert result.code == 2 and "ganedge export onnx" in result.err


def test_repository_path_that_is_a_file_is_refused(cli, small_onnx, tmp_path):
    (tmp_path / "repo").write_text("a file")
    result = cli("export", "triton", small_onnx, "-o", tmp_path / "repo")
    assert result.code == 2 and "is a file" in result.err


# --- TensorRT engines: only the sidecar is read, so these run without TensorRT -----------------------


def fake_engine(folder: Path, profile=(1, 16, 64), conditional: bool = False) -> Path:
    """Engine bytes plus a sidecar vouching for them, as `ganedge export trt` writes it."""
    data = b"\x00plan bytes as TensorRT would write them\x00" * 16
    m = Manifest(arch="dcgan", latent_dim=32, image_shape=(3, 16, 16), num_classes=10 if conditional else 0,
                 inputs=("z", "label") if conditional else ("z",), precision="fp16").to_dict()
    m.update(tensorrt_version="10.13.3", gpu_name="NVIDIA H100 80GB HBM3", compute_capability="9.0",
             profile=dict(zip(("min", "opt", "max"), profile)), onnx_sha256="0" * 64, onnx_file="model.onnx",
             engine_sha256=hashlib.sha256(data).hexdigest())
    engine = folder / "gan.engine"
    engine.write_bytes(data)
    (folder / "gan.engine.json").write_text(json.dumps(m))
    return engine


def test_engine_repository_every_field(cli, tmp_path):
    engine = fake_engine(tmp_path, conditional=True)
    result = cli("export", "triton", engine, "-o", tmp_path / "repo", "--preferred-batch-sizes", "16,64")
    assert result.code == 0, result
    model_dir = tmp_path / "repo" / "gan"
    assert (model_dir / "1" / "model.plan").read_bytes() == engine.read_bytes()
    c = parse_config(model_dir)
    assert c.platform == "tensorrt_plan" and c.default_model_filename == "model.plan"
    assert c.max_batch_size == 64  # the profile's MAX
    assert [(i.name, i.data_type, list(i.dims)) for i in c.input] == [("z", mc.TYPE_FP32, [32]),
                                                                       ("label", mc.TYPE_INT64, [1])]
    assert list(c.input[1].reshape.shape) == []
    assert [(o.name, o.data_type, list(o.dims)) for o in c.output] == [("image", mc.TYPE_FP32, [3, 16, 16])]
    assert [(g.count, g.kind) for g in c.instance_group] == [(1, mc.ModelInstanceGroup.KIND_GPU)]
    assert list(c.dynamic_batching.preferred_batch_size) == [16, 64]
    sidecar = Manifest.from_json((model_dir / "ganedge.json").read_text())
    assert sidecar.extra["compute_capability"] == "9.0" and sidecar.extra["profile"]["max"] == 64


@pytest.mark.parametrize("args, profile, message", [
    (["--max-batch", "128"], (1, 16, 64), "above gan.engine's profile maximum 64"),
    ([], (4, 16, 64), "starts at 4"),
    ([], (8, 8, 8), "starts at 8"),
    (["--kind", "KIND_CPU"], (1, 16, 64), "GPU only"),
    (["--max-batch", "0"], (1, 16, 64), "--max-batch 1..64"),
])
def test_engine_limits_are_enforced(cli, tmp_path, args, profile, message):
    engine = fake_engine(tmp_path, profile=profile)
    result = cli("export", "triton", engine, "-o", tmp_path / "repo", *args)
    assert result.code == 2, result
    assert message in result.err and not (tmp_path / "repo").exists()


def test_engine_within_the_profile_is_accepted(cli, tmp_path):
    engine = fake_engine(tmp_path)
    assert cli("export", "triton", engine, "-o", tmp_path / "repo", "--max-batch", "32").code == 0
    assert parse_config(tmp_path / "repo" / "gan").max_batch_size == 32


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_TENSORRT, reason="needs TensorRT")
def test_real_engine_repository(small_onnx, tmp_path):
    engine = tmp_path / "model.engine"
    build = subprocess.run([sys.executable, "-m", "ganedge", "export", "trt", str(small_onnx), "-o", str(engine),
                            "--batch", "1:8:32"], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    over = subprocess.run([sys.executable, "-m", "ganedge", "export", "triton", str(engine), "-o", str(tmp_path / "r"),
                           "--max-batch", "64"], capture_output=True, text=True, timeout=120)
    assert over.returncode == 2 and "profile maximum 32" in over.stderr
    ok = subprocess.run([sys.executable, "-m", "ganedge", "export", "triton", str(engine), "-o", str(tmp_path / "r")],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    c = parse_config(tmp_path / "r" / "model")
    assert c.platform == "tensorrt_plan" and c.max_batch_size == 32
    assert (tmp_path / "r" / "model" / "1" / "model.plan").read_bytes() == engine.read_bytes()


def test_triton_shaped_inputs_reproduce_the_sdk_images(cli, conditional_onnx, tmp_path):
    """What a Triton client sends (z from ganedge.sdk.latents, label as (n, 1) per the config's dims),
    reshaped as the config tells Triton to, gives the SDK's images on the repository's model file."""
    import onnxruntime as ort

    from ganedge import sdk
    from ganedge.images import to_uint8_nhwc

    assert cli("export", "triton", conditional_onnx, "-o", tmp_path / "repo", "--name", "cond").code == 0
    c = parse_config(tmp_path / "repo" / "cond")
    seeds, label = list(range(100, 108)), 6
    client = {"z": sdk.latents(seeds, 32), "label": np.full((len(seeds), 1), label, dtype=np.int64)}
    feeds = {}
    for spec in c.input:  # Triton checks [batch, *dims], then hands the backend [batch, *reshape]
        array = client[spec.name]
        assert list(array.shape[1:]) == list(spec.dims)
        shape = list(spec.reshape.shape) if spec.HasField("reshape") else list(spec.dims)
        feeds[spec.name] = array.reshape(len(seeds), *shape)
    session = ort.InferenceSession(str(tmp_path / "repo" / "cond" / "1" / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    (image,) = session.run([c.output[0].name], feeds)
    with sdk.load(conditional_onnx, device="cpu") as g:
        assert np.array_equal(to_uint8_nhwc(image), g.sample_seeds(seeds, labels=label))


def test_triton_modules_import_light():
    code = ("import sys\nimport ganedge.export.triton, ganedge.cli.export_triton\n"
            "print(','.join(m for m in ('torch', 'onnx', 'onnxruntime', 'tensorrt', 'tritonclient') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
