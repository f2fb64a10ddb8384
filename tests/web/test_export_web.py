"""``ganedge export web``: what it writes, and the one-line errors for what it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ganedge.export.web import WebOptions, build_site
from ganedge.export.web.runtime import ENV_VAR, RUNTIME_FILES
from tests.web.conftest import NODE_MODULES, need, render_js

ORT_WEB = NODE_MODULES / "onnxruntime-web"


@pytest.fixture(scope="module")
def ort_web() -> Path:
    need((ORT_WEB / "package.json").exists(), f"onnxruntime-web is not installed in {NODE_MODULES}")
    return ORT_WEB


def _one_line_error(result, *fragments: str) -> None:
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    for fragment in fragments:
        assert fragment in lines[0], result.err


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_site_layout_and_record(cli, web_models, ort_web, tmp_path):
    result = cli("export", "web", web_models["cond"], "-o", tmp_path / "site", "--title", "<Digits & co>", "--json")
    assert result.code == 0, result
    report = result.json()
    site = tmp_path / "site"
    names = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert names == {"index.html", "app.js", "worker.js", "ganedge.js", "style.css", "serve.py", "model.onnx",
                     "site.json", "ort/NOTICE", *(f"ort/{name}" for name in RUNTIME_FILES)}
    assert (site / "model.onnx").read_bytes() == web_models["cond"].read_bytes()
    for name in RUNTIME_FILES:  # the runtime is the pinned npm package's, byte for byte
        assert (site / "ort" / name).read_bytes() == (ort_web / "dist" / name).read_bytes()
    record = json.loads((site / "site.json").read_text())
    assert record["generator"] == "ganedge export web" and record["onnxruntime_web"] == report["onnxruntime_web"]
    assert record["manifest"]["class_names"][3] == "three" and record["files"]["model.onnx"] == report["files"]["model.onnx"]
    assert "<title>&lt;Digits &amp; co&gt;</title>" in (site / "index.html").read_text()
    assert report["total_bytes"] == sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    assert "cdn" not in (site / "ganedge.js").read_text().lower()  # nothing fetched from elsewhere at run time
    assert _leftovers(tmp_path) == []


def test_model_without_manifest(cli, web_models, tmp_path):
    import onnx

    model = onnx.load(str(web_models["uncond"]))
    del model.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(model, str(bare))
    _one_line_error(cli("export", "web", bare, "-o", tmp_path / "site"), "has no ganedge manifest", "ganedge export onnx")
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize("content, fragment", [(b"", "is empty"), (b"\x80\x04\x95 pickle", "pickle"),
                                               (b"hello, not a model", "not an ONNX model")])
def test_not_an_onnx_file(cli, tmp_path, content, fragment):
    path = tmp_path / "model.onnx"
    path.write_bytes(content)
    _one_line_error(cli("export", "web", path, "-o", tmp_path / "site"), fragment)


def test_missing_model_and_folder_model(cli, tmp_path):
    _one_line_error(cli("export", "web", tmp_path / "nope.onnx", "-o", tmp_path / "site"), "does not exist")
    _one_line_error(cli("export", "web", tmp_path, "-o", tmp_path / "site"), "is a folder", "ganedge export onnx")


def test_non_empty_output_needs_force(cli, web_models, ort_web, tmp_path):
    site = tmp_path / "site"
    assert cli("export", "web", web_models["uncond"], "-o", site).code == 0
    (site / "extra.txt").write_text("left by hand")
    _one_line_error(cli("export", "web", web_models["cond"], "-o", site), "not empty", "--force")
    assert json.loads((site / "site.json").read_text())["manifest"]["num_classes"] == 0  # untouched
    result = cli("export", "web", web_models["cond"], "-o", site, "--force")
    assert result.code == 0 and result.out.startswith("replaced"), result
    assert json.loads((site / "site.json").read_text())["manifest"]["num_classes"] == 10
    assert not (site / "extra.txt").exists() and _leftovers(tmp_path) == []


def test_force_never_replaces_a_folder_it_did_not_write(cli, web_models, ort_web, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "notes.md").write_text("precious")
    _one_line_error(cli("export", "web", web_models["uncond"], "-o", folder, "--force"), "not a site written by")
    assert (folder / "notes.md").read_text() == "precious"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("export", "web", web_models["uncond"], "-o", empty).code == 0  # an empty folder is fine
    target = tmp_path / "file"
    target.write_text("x")
    _one_line_error(cli("export", "web", web_models["uncond"], "-o", target), "not a folder")


def test_runtime_missing_or_incomplete(cli, web_models, tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    _one_line_error(cli("export", "web", web_models["uncond"], "-o", tmp_path / "a", "--ort-web", tmp_path / "none"),
                    "not an onnxruntime-web package", "npm ci")
    fake = tmp_path / "node_modules" / "onnxruntime-web"
    (fake / "dist").mkdir(parents=True)
    (fake / "package.json").write_text(json.dumps({"name": "onnxruntime-web", "version": "1.8.0"}))
    (fake / "dist" / "ort.wasm.min.mjs").write_text("// old")
    monkeypatch.setenv(ENV_VAR, str(fake))
    _one_line_error(cli("export", "web", web_models["uncond"], "-o", tmp_path / "b"), "1.8.0", "lacks",
                    "ort-wasm-simd-threaded.wasm")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_failed_write_leaves_nothing(web_models, ort_web, tmp_path):
    broken = tmp_path / "broken" / "onnxruntime-web"
    (broken / "dist").mkdir(parents=True)
    (broken / "package.json").write_text((ort_web / "package.json").read_text())
    for name in RUNTIME_FILES[:-1]:
        (broken / "dist" / name).write_bytes((ort_web / "dist" / name).read_bytes())
    (broken / "dist" / RUNTIME_FILES[-1]).symlink_to(broken / "dangling")  # is_file() false: refused up front
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(Exception, match="lacks"):
        build_site(web_models["uncond"], out / "site", WebOptions(ort_web=broken))
    assert list(out.iterdir()) == []


def test_precision_fp16_converts_and_gates(cli, web_models, ort_web, node, node_modules, reference, tmp_path):
    result = cli("export", "web", web_models["uncond"], "-o", tmp_path / "site", "--precision", "fp16", "--json")
    assert result.code == 0, result
    report = result.json()
    psnr_db = report["converted"]["psnr_db"]  # None: identical images
    assert report["precision"] == "fp16" and (psnr_db is None or psnr_db >= 40), report["converted"]
    assert report["files"]["model.onnx"] < 0.6 * web_models["uncond"].stat().st_size
    js = render_js(node, "web", tmp_path / "site", range(16), tmp_path)
    ref = reference["uncond"].sample(16, seed=0)
    from ganedge.images import psnr

    assert psnr(js, ref) >= 40  # the fp16 model in the page's runtime stays within the fp16 gate


def test_precision_that_needs_another_export(cli, web_models, ort_web, tmp_path):
    first = cli("export", "web", web_models["uncond"], "-o", tmp_path / "half", "--precision", "fp16")
    assert first.code == 0, first
    _one_line_error(cli("export", "web", tmp_path / "half" / "model.onnx", "-o", tmp_path / "site", "--precision",
                        "fp32"), "fp16 export", "leave out --precision")
    bad = cli("export", "web", web_models["uncond"], "-o", tmp_path / "x", "--precision", "int8")
    assert bad.code == 2 and "int8" in bad.err


def test_help_lists_web(cli):
    result = cli("export", "--help")
    assert result.code == 0 and "web" in result.out
    result = cli("export", "web", "--help")
    assert result.code == 0 and "--precision" in result.out and "--force" in result.out


def test_export_imports_no_framework(web_models, ort_web, tmp_path):
    """Writing a site is pure Python: no torch, onnx or onnxruntime (fp16 conversion aside)."""
    import subprocess
    import sys

    heavy = ("torch", "onnx", "onnxruntime", "tensorrt", "safetensors")
    code = ("import sys\nfrom ganedge.cli.main import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n"
            "    assert not e.code, e.code\n"
            f"print('HEAVY:' + ','.join(m for m in {heavy!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code, "export", "web", str(web_models["uncond"]), "-o",
                             str(tmp_path / "site")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("HEAVY:"), result.stdout
