"""True FID with a local InceptionV3: architecture, weight loading and its errors.

Real FID weights cannot be downloaded here, so a randomly initialised FIDInceptionV3 stands in:
what is tested is that torchvision-named weights load, features are 2048-d and FD runs.
"""

import numpy as np
import pytest

from ganedge.errors import ArtifactError


@pytest.fixture(scope="module")
def inception_file(tmp_path_factory):
    import torch
    from safetensors.torch import save_file

    from ganedge.metrics.inception import FIDInceptionV3

    torch.manual_seed(0)
    net = FIDInceptionV3()
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    # pytorch-fid's checkpoint also carries the classifier; it must be accepted and ignored.
    state["fc.weight"] = torch.zeros(1008, 2048)
    state["fc.bias"] = torch.zeros(1008)
    path = tmp_path_factory.mktemp("inception") / "inception.safetensors"
    save_file(state, str(path))
    return path


@pytest.fixture(scope="module")
def tiny_npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("npz") / "tiny.npz"
    rng = np.random.default_rng(0)
    np.savez(path, images=rng.integers(0, 256, size=(16, 16, 16, 3), dtype=np.uint8))
    return path


def test_random_inception_gives_2048_features_and_an_fd(inception_file, tiny_npz):
    from ganedge.metrics import Evaluator

    ev = Evaluator(str(tiny_npz), image_size=16, n=8, inception=inception_file)
    assert ev.feature_net.startswith("inception-v3-fid:inception.safetensors:")
    images = np.random.default_rng(1).integers(0, 256, size=(8, 16, 16, 3), dtype=np.uint8)
    scores = ev.score(images)
    real = ev.reference()["features"]
    assert real.shape == (8, 2048) and np.isfinite(real).all() and real.std() > 0
    assert np.isfinite(scores.fd) and scores.fd >= 0 and np.isfinite(scores.fd_floor)
    assert scores.n == 8 and scores.feature_net == ev.feature_net


@pytest.fixture(scope="module")
def inception_net(inception_file):
    from ganedge.metrics.inception import load_inception

    return load_inception(inception_file)


def test_inception_resize_matches_pytorch_fid(inception_net):
    """pytorch-fid: [0, 1] input, bilinear resize to 299 (no antialias), then 2x - 1."""
    import torch
    import torch.nn.functional as F

    from ganedge.metrics.feature_net import extract

    net = inception_net
    images = np.random.default_rng(2).integers(0, 256, size=(1, 20, 20, 3), dtype=np.uint8)
    ours = extract(net, images, 3, 299, antialias=False)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).double() / 255
    x = F.interpolate(x.float(), size=(299, 299), mode="bilinear", align_corners=False) * 2 - 1
    with torch.no_grad():
        theirs = net.features(x).double().numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_wrong_files_give_clear_errors(tmp_path, inception_file):
    import torch
    from safetensors.torch import load_file, save_file

    from ganedge.metrics.inception import load_inception

    with pytest.raises(ArtifactError, match="do not exist"):
        load_inception(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(ArtifactError, match="not a readable safetensors"):
        load_inception(junk)
    other = tmp_path / "other.safetensors"
    save_file({"conv.weight": torch.zeros(3, 3)}, str(other))
    with pytest.raises(ArtifactError, match="not an FID InceptionV3"):
        load_inception(other)
    state = load_file(str(inception_file))
    state["Mixed_7c.branch_pool.conv.weight"] = torch.zeros(192, 2048, 3, 3)
    bad_shape = tmp_path / "shape.safetensors"
    save_file(state, str(bad_shape))
    with pytest.raises(ArtifactError, match=r"Mixed_7c.branch_pool.conv.weight has shape \(192, 2048, 3, 3\)"):
        load_inception(bad_shape)
