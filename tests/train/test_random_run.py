"""write_random_run: the one builder of random run directories (tests, micro-bench, GPU bench)."""

import pytest

from ganedge.artifacts.run_dir import CONFIG_FILE, STATE_FILE, WEIGHTS_FILE, load_weights, read_config, read_state
from ganedge.errors import BadInputError
from ganedge.models.random_run import write_random_run


def _tensors(run, name):
    groups, meta = load_weights(run / WEIGHTS_FILE)
    return groups[name], meta


def test_a_real_run_directory_that_loads(tmp_path):
    from ganedge.models.load import load_generator

    run = write_random_run(tmp_path / "run", "dcgan", 16, latent_dim=32, num_classes=3, width=8, step=5,
                           dataset="digits", channels=1)
    assert sorted(p.name for p in run.iterdir()) == sorted([CONFIG_FILE, STATE_FILE, WEIGHTS_FILE])
    config = read_config(run)
    assert (config.model.arch, config.model.image_shape, config.model.num_classes, config.dataset) == (
        "dcgan", (1, 16, 16), 3, "digits")
    assert read_state(run / STATE_FILE)["step"] == 5
    groups, meta = load_weights(run / WEIGHTS_FILE)
    assert set(groups) == {"G", "G_ema", "D"} and meta["step"] == 5
    generator, _, _ = load_generator(run)
    import torch

    images = generator(torch.zeros(2, 32), torch.tensor([0, 2]))  # (2, 1, 16, 16)
    assert tuple(images.shape) == (2, 1, 16, 16)


def test_deterministic_and_each_knob_does_what_it_says(tmp_path):
    import torch

    base = write_random_run(tmp_path / "a", "mlp", 16, latent_dim=8, width=16)
    again = write_random_run(tmp_path / "b", "mlp", 16, latent_dim=8, width=16)
    ema, _ = _tensors(base, "G_ema")
    assert all(torch.equal(ema[k], _tensors(again, "G_ema")[0][k]) for k in ema)
    assert all(torch.equal(ema[k], _tensors(base, "G")[0][k]) for k in ema)  # no ema_noise: G is G_ema's copy

    noisy = write_random_run(tmp_path / "c", "mlp", 16, latent_dim=8, width=16, ema_noise=0.05)
    raw, noisy_ema = _tensors(noisy, "G")[0], _tensors(noisy, "G_ema")[0]
    assert all(torch.equal(ema[k], noisy_ema[k]) for k in ema) and not all(torch.equal(raw[k], ema[k]) for k in ema)

    louder = _tensors(write_random_run(tmp_path / "d", "mlp", 16, latent_dim=8, width=16, gain=3.0), "G_ema")[0]
    changed = [k for k in ema if not torch.equal(ema[k], louder[k])]
    last = [k for k in ema if k.endswith(".weight")][-1].rsplit(".", 1)[0]
    assert sorted(changed) == [f"{last}.bias", f"{last}.weight"]  # the last layer alone, weight and bias
    assert all(torch.allclose(louder[k], 3.0 * ema[k]) for k in changed)


def test_refuses_to_overwrite_a_run(tmp_path):
    run = write_random_run(tmp_path / "run", "mlp", 16, latent_dim=8, width=16)
    with pytest.raises(BadInputError, match="already holds a run directory"):
        write_random_run(run, "mlp", 16)
