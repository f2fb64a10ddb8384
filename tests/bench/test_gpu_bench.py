"""The GPU benchmark preset: what it sweeps on each device (the sweep itself runs in tests/gpu's dry run)."""

import pytest

from ganedge.bench.gpu_bench import Preset, write_models
from ganedge.errors import BadInputError


def test_defaults_per_device():
    cuda = Preset().resolved()
    assert (cuda.precisions, cuda.modes, cuda.batch_sizes) == (("fp32", "bf16", "fp16"), ("eager", "graphs"),
                                                              (1, 8, 64, 256, 1024))
    quick = Preset(quick=True).resolved()
    assert (quick.precisions, quick.batch_sizes, quick.duration_s) == (("fp32", "bf16"), (1, 64, 1024), 0.15)
    cpu = Preset(device="cpu").resolved()
    assert (cpu.precisions, cpu.modes) == (("fp32",), ("eager",))
    mine = Preset(device="cpu", precisions=("bf16",), batch_sizes=(3,), duration_s=0.5).resolved()
    assert (mine.precisions, mine.batch_sizes, mine.duration_s) == (("bf16",), (3,), 0.5)
    config = cuda.config("run")
    assert config.compute_only and not config.cold_start and config.modes == ("eager", "graphs")


def test_models_are_named_run_dirs(tmp_path):
    runs = write_models(Preset(models=("mlp-16",), width=8), tmp_path)
    assert [r.name for r in runs] == ["mlp-16"] and (runs[0] / "weights.safetensors").is_file()
    with pytest.raises(BadInputError, match="ARCH-SIZE"):
        write_models(Preset(models=("dcgan",)), tmp_path)
