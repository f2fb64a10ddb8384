"""Every architecture: shapes, range, determinism, conditioning; the SN-ResNet G exports to ONNX."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganedge.errors import ConfigError
from ganedge.artifacts.run_config import ModelConfig
from ganedge.models import build_discriminator, build_generator


@pytest.mark.parametrize("arch", ["mlp", "dcgan", "resnet"])
@pytest.mark.parametrize("size", [16, 32])
@pytest.mark.parametrize("num_classes", [0, 3])
def test_generator_and_discriminator_shapes(arch, size, num_classes):
    cfg = ModelConfig(arch=arch, latent_dim=8, image_shape=(3, size, size), num_classes=num_classes, g_width=4, d_width=4)
    g, d = build_generator(cfg), build_discriminator(cfg)
    labels = torch.arange(5) % num_classes if num_classes else None
    with torch.no_grad():
        images = g(torch.randn(5, 8), labels)
    assert images.shape == (5, 3, size, size)
    assert float(images.abs().max()) <= 1.0
    with torch.no_grad():
        scores = d(images, labels)
    assert scores.shape == (5,)
    assert torch.isfinite(scores).all()


@pytest.mark.parametrize("arch", ["mlp", "dcgan", "resnet"])
def test_generator_forward_is_deterministic_in_eval(arch):
    g = build_generator(ModelConfig(arch=arch, latent_dim=8, image_shape=(1, 16, 16), g_width=4)).eval()
    z = torch.randn(4, 8)
    torch.set_grad_enabled(False)
    assert torch.equal(g(z), g(z))
    # Batch-independent in eval mode: row 1 alone equals row 1 of the batch.
    torch.testing.assert_close(g(z[1:2]), g(z)[1:2], rtol=1e-5, atol=1e-6)
    torch.set_grad_enabled(True)


def test_conditional_generator_uses_labels():
    g = build_generator(ModelConfig(arch="resnet", latent_dim=8, image_shape=(3, 16, 16), num_classes=4, g_width=4)).eval()
    z = torch.randn(1, 8).repeat(4, 1)
    with torch.no_grad():
        images = g(z, torch.arange(4))
    assert not torch.allclose(images[0], images[1])


def test_resnet_discriminator_has_spectral_norm_switch():
    cfg = ModelConfig(arch="resnet", image_shape=(3, 32, 32), d_width=4)
    with_sn = build_discriminator(cfg)
    without = build_discriminator(ModelConfig(arch="resnet", image_shape=(3, 32, 32), d_width=4, d_spectral_norm=False))
    assert any("parametrizations" in k for k in with_sn.state_dict())
    assert not any("parametrizations" in k for k in without.state_dict())


@pytest.mark.parametrize("bad", [dict(arch="vit"), dict(image_shape=(3, 24, 24)), dict(image_shape=(2, 16, 16)),
                                 dict(image_shape=(3, 16, 32)), dict(latent_dim=0)])
def test_model_config_rejects(bad):
    with pytest.raises(ConfigError):
        ModelConfig(**{"arch": "resnet", **bad})


def test_resnet_generator_exports_to_onnx_with_dynamic_batch():
    """Through export's own tracer: plain ops only (nearest upsampling is one Resize), any batch size.
    Conditional, so the label path (Gather, Concat) is covered too; one export costs ~10 s."""
    import onnxruntime as ort

    from ganedge.export.torch_export import export_generator
    from ganedge.artifacts.manifest import Manifest

    num_classes = 3
    cfg = ModelConfig(arch="resnet", latent_dim=8, image_shape=(3, 16, 16), g_width=4, num_classes=num_classes)
    torch.manual_seed(0)
    g = build_generator(cfg)
    labels = torch.arange(16) % num_classes if num_classes else None
    with torch.no_grad():
        g(torch.randn(16, 8), labels)  # train-mode pass: non-trivial BatchNorm statistics
    g.eval()
    model = export_generator(g, Manifest(arch="resnet", latent_dim=8, image_shape=(3, 16, 16), num_classes=num_classes,
                                         inputs=("z", "label") if num_classes else ("z",)), opset=20)
    ops = {node.op_type for node in model.graph.node}
    assert "Resize" in ops, ops
    assert not ops - {"Gemm", "MatMul", "Add", "Reshape", "Relu", "Resize", "Conv", "Tanh", "BatchNormalization",
                      "Mul", "Constant", "Identity", "Concat", "Shape", "Gather", "Unsqueeze", "Slice", "Cast"}, ops
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for n in (1, 5):
        z = np.random.default_rng(n).standard_normal((n, 8)).astype(np.float32)
        feeds = {"z": z}
        y = np.arange(n, dtype=np.int64) % num_classes if num_classes else None
        if num_classes:
            feeds[session.get_inputs()[1].name] = y
        (out,) = session.run(None, feeds)
        with torch.no_grad():
            expected = g(torch.from_numpy(z), None if y is None else torch.from_numpy(y)).numpy()
        np.testing.assert_allclose(out, expected, atol=1e-5)
