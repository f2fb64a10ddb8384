"""The metric on CUDA: same numbers as on the CPU (up to float reduction order)."""

import json

import numpy as np
import pytest

from ganedge.images import to_uint8_nhwc


@pytest.mark.gpu
def test_cuda_features_match_cpu():
    from ganedge.metrics import Evaluator

    cpu = Evaluator("scenes", image_size=32, n=200, cache_dir=False)
    gpu = Evaluator("scenes", image_size=32, n=200, cache_dir=False, device="cuda")
    images = to_uint8_nhwc(cpu.dataset.take(np.arange(10**7, 10**7 + 200))[0])
    np.testing.assert_allclose(gpu.features(images), cpu.features(images), rtol=1e-3, atol=1e-4)
    a, b = cpu.score(images), gpu.score(images)
    assert a.fd == pytest.approx(b.fd, rel=1e-3, abs=1e-3)
    assert a.fd_floor == pytest.approx(b.fd_floor, rel=1e-3, abs=1e-3)


@pytest.mark.gpu
def test_eval_cli_on_cuda(eval_run_dir, capsys):
    from ganedge.cli.main import main

    run = eval_run_dir(arch="dcgan", size=32)
    results = []
    for device in ("cpu", "cuda"):
        with pytest.raises(SystemExit) as exit_info:
            main(["eval", str(run), "--n", "64", "--json", "--device", device])
        out, err = capsys.readouterr()
        assert exit_info.value.code == 0, err
        results.append(json.loads(out))
    assert results[1]["feature_net"] == "scenes-v1" and results[1]["n"] == 64
    # Different devices may round a few uint8 pixels differently; the scores stay close.
    assert results[1]["fd"] == pytest.approx(results[0]["fd"], rel=0.02)
