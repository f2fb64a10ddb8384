"""The GPU float -> uint8 conversion the TensorRT runner and gpu_bench use (the torch backend's
``torch_uint8_nhwc``) equals the numpy reference bit for bit on real CUDA hardware (needs CUDA only)."""

import numpy as np
import pytest

from ganedge.images import to_uint8_reference
from ganedge.latents import latents
from ganedge.sdk.backends.pytorch.convert import torch_uint8_nhwc

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_cuda_conversion_equals_reference(dtype):
    torch = pytest.importorskip("torch")
    x = np.tanh(latents(range(64), 3 * 32 * 32).reshape(64, 3, 32, 32) * 1.5)
    # Exact half-way points and the clip edges: the cases a fused multiply-add or another rounding would change.
    k = np.arange(-128, 128, dtype=np.float32)
    x[0].reshape(-1)[: k.size] = (k + np.float32(0.5) - np.float32(128.0)) / np.float32(127.5)
    x[1, 0, 0, :4] = [-1.0, 1.0, -1.5, 1.5]
    t = torch.from_numpy(x).to("cuda").to(getattr(torch, dtype))
    got = torch_uint8_nhwc(t).cpu().numpy()
    np.testing.assert_array_equal(got, to_uint8_reference(t.float().cpu().numpy()))
