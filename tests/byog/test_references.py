"""Module references as a user types them: hostile ones refused in one line, weights in and out of
safetensors (pickles never), randomness refused, the Python API, and adopting an ONNX file made elsewhere."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from tests.byog import catalog

REFUSED = [name for name in catalog.HOSTILE if name != "float64_output"]  # float64 images are cast, and said so


@pytest.mark.parametrize("name", [*REFUSED, "missing_file", "missing_attribute"])
def test_a_hostile_reference_is_one_line_and_exit_2(cli, tmp_path, hostile_refs, name):
    result = cli("export", "onnx", hostile_refs[name], "-o", tmp_path / "g.onnx",
                 "--latent-dim", catalog.HOSTILE_LATENT_DIM)
    assert result.code == 2, result
    assert result.err.startswith("error: ") and len(result.err.strip().splitlines()) == 1, result.err
    assert "Traceback" not in result.err and not (tmp_path / "g.onnx").exists()


def test_float64_images_are_cast_and_the_report_says_so(cli, tmp_path, hostile_refs):
    result = cli("export", "onnx", hostile_refs["float64_output"], "-o", tmp_path / "g.onnx",
                 "--latent-dim", catalog.HOSTILE_LATENT_DIM, "--json")
    assert result.code == 0, result
    assert "casts them to float32" in result.err
    assert result.json()["manifest"]["output_cast"] == "float64 -> float32"


def test_randomness_inside_forward_is_refused_with_the_fix(cli, tmp_path, noise_in_forward_ref):
    result = cli("export", "onnx", noise_in_forward_ref, "-o", tmp_path / "g.onnx", "--latent-dim", 32)
    assert result.code == 2 and "randomness inside forward" in result.err and "registered buffer" in result.err


def test_a_dotted_module_path_works_as_well_as_a_file(cli, tmp_path):
    ref = "tests.byog.generators.dcgan_sigmoid:build_generator"
    result = cli("export", "onnx", ref, "-o", tmp_path / "g.onnx", "--output-range", "0,1", "--json")
    assert result.code == 0, result  # --latent-dim comes from the module's nz attribute
    report = result.json()
    assert report["manifest"]["arch"] == ref and report["manifest"]["latent_dim"] == 100


def test_weights_round_trip_through_save_weights_and_weights(cli, tmp_path, byog_module):
    """A module whose weights differ from what NAME() builds: export --weights gives those weights' images."""
    import copy

    import torch

    from ganedge import sdk
    from ganedge.export import save_weights

    entry = catalog.DCGAN_SIGMOID
    module = copy.deepcopy(byog_module(entry.name))
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(0.9)
    save_weights(module, tmp_path / "G.safetensors")
    args = ["--latent-dim", entry.latent_dim, "--output-range", "0,1"]
    result = cli("export", "onnx", entry.ref, "-o", tmp_path / "g.onnx", "--weights", tmp_path / "G.safetensors", *args)
    assert result.code == 0, result
    z = catalog.inputs(entry, [5, 6])[0]
    with torch.no_grad():
        expected = module.eval()(z).numpy()
    with sdk.load(tmp_path / "g.onnx") as g:
        np.testing.assert_allclose(g.generate(z.numpy()), expected, atol=1e-5)
        assert g.manifest.source_sha256 == __import__("hashlib").sha256((tmp_path / "G.safetensors").read_bytes()).hexdigest()
    verify = cli("verify", entry.ref, tmp_path / "g.onnx", "--weights", tmp_path / "G.safetensors", *args, "--seeds", "0-7")
    assert verify.code == 0, verify


def test_weights_that_do_not_fit_name_the_keys_and_pickles_are_refused(cli, tmp_path, byog_module):
    import torch

    from ganedge.export import save_weights

    entry = catalog.DCGAN_SIGMOID
    save_weights(torch.nn.Linear(3, 4), tmp_path / "other.safetensors")
    result = cli("export", "onnx", entry.ref, "-o", tmp_path / "g.onnx", "--weights", tmp_path / "other.safetensors")
    assert result.code == 2 and "missing 16 key(s): main.0.weight" in result.err and "unexpected 2 key(s)" in result.err
    (tmp_path / "G.pt").write_bytes(b"\x80\x04not really a pickle")
    result = cli("export", "onnx", entry.ref, "-o", tmp_path / "g.onnx", "--weights", tmp_path / "G.pt")
    assert result.code == 2 and "pickle" in result.err and "save_weights(module" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_export_module_exports_a_module_in_hand(tmp_path, byog_module):
    from ganedge import sdk
    from ganedge.export import export_module

    entry = catalog.BIGGAN
    module = byog_module(entry.name)
    result = export_module(module, tmp_path / "g.onnx", num_classes=10, class_names=[f"k{i}" for i in range(10)],
                           precisions=("fp32",), fd=False)
    assert result.passed and result.variants[0].written and module.training is False
    with sdk.load(tmp_path / "g.onnx") as g:
        assert g.manifest.latent_dim == entry.latent_dim and g.manifest.class_names[7] == "k7"
        np.testing.assert_array_equal(g.sample(3, seed=1, labels="k7"), g.sample(3, seed=1, labels=7))


@pytest.fixture(scope="module")
def foreign_onnx(tmp_path_factory, byog_module):
    """The tutorial DCGAN as another tool would export it: 4-D z named 'noise', output named 'out', dynamic batch."""
    import torch

    entry = catalog.DCGAN_SIGMOID
    module = byog_module(entry.name)

    class FourD(torch.nn.Module):  # the tutorial's own interface: z of shape (n, nz, 1, 1)
        def __init__(self):
            super().__init__()
            self.main = module.main

        def forward(self, noise):
            return self.main(noise)

    path = tmp_path_factory.mktemp("foreign") / "tutorial.onnx"
    batch = torch.export.Dim("n")
    with warnings.catch_warnings():  # torch's own pytree deprecation notice, not about this model
        warnings.filterwarnings("ignore", category=FutureWarning, message=r".*LeafSpec.*")
        program = torch.onnx.export(FourD().eval(), (torch.zeros(2, entry.latent_dim, 1, 1),), dynamo=True,
                                    input_names=["noise"], output_names=["out"], dynamic_shapes=({0: batch},))
    program.save(str(path))
    return path


def test_adopting_a_foreign_onnx_gives_a_ganedge_model(cli, tmp_path, foreign_onnx, byog_module):
    from ganedge import sdk

    entry = catalog.DCGAN_SIGMOID
    out = tmp_path / "adopted.onnx"
    result = cli("export", "onnx", foreign_onnx, "-o", out, "--latent-dim", entry.latent_dim, "--output-range", "0,1",
                 "--precision", "fp32,fp16", "--json")
    assert result.code == 0, result
    report = result.json()
    assert [v["written"] for v in report["variants"]] == [True, True]
    assert report["manifest"]["arch"] == "adopted:tutorial.onnx" and report["batch"] == "dynamic"
    assert "the original tutorial.onnx" in report["variants"][0]["gate"]["against"]
    with sdk.load(out) as g, sdk.load(entry.ref, latent_dim=entry.latent_dim, output_range=(0, 1)) as t:
        assert g.manifest.inputs == ("z",) and g.manifest.output == "image"
        assert np.abs(g.sample(8, seed=3).astype(int) - t.sample(8, seed=3)).max() <= 1
    inspect = cli("inspect", out, "--json")
    assert inspect.code == 0 and json.loads(inspect.out)["manifest"]["output_range"] == [0.0, 1.0]


def test_adopting_refuses_what_is_not_a_generator_graph(cli, tmp_path, foreign_onnx):
    result = cli("export", "onnx", foreign_onnx, "-o", tmp_path / "a.onnx", "--latent-dim", 7)
    assert result.code == 2 and "--latent-dim 7" in result.err and not (tmp_path / "a.onnx").exists()
    assert cli("export", "onnx", foreign_onnx, "-o", tmp_path / "a.onnx").code == 0  # latent size read off the graph
    again = cli("export", "onnx", tmp_path / "a.onnx", "-o", tmp_path / "b.onnx")
    assert again.code == 2 and "already a ganedge export" in again.err
