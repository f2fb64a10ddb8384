"""``ganedge generate`` as users meet it: help, one-line refusals (exit 2), resume decisions,
damaged shards redone, and the missing-Ray message."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.generate.conftest import written_seeds


def one_line_error(result, needle: str) -> None:
    assert result.code == 2, result
    assert result.err.startswith("error: ") and result.err.count("\n") == 1, result.err
    assert "Traceback" not in result.err and needle in result.err, result.err


def test_help_and_listing(cli):
    assert "generate" in cli("--help").out
    text = cli("generate", "--help").out
    assert "--resume" in text and "--ray" in text and "Examples:" in text


@pytest.mark.parametrize("args,needle", [
    (["--count", 0], "--count must be at least 1"),
    (["--count", -5], "--count must be at least 1"),
    (["--count", 10, "--shard-size", 0], "--shard-size must be at least 1"),
    (["--count", 10, "--batch-size", 0], "--batch-size must be at least 1"),
    (["--count", 10, "--workers", 0], "--workers must be at least 1"),
    (["--count", 10, "--labels", "balanced"], "unconditional; drop --labels"),
    ([], "--count is required"),
])
def test_bad_arguments_are_one_line(cli, uncond_onnx, tmp_path, args, needle):
    one_line_error(cli("generate", uncond_onnx, "-o", tmp_path / "out", *args), needle)
    assert not (tmp_path / "out" / "plan.json").exists()


def test_bad_labels_for_a_conditional_model(cli, cond_onnx, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("cat,3\nunicorn,2\n")
    one_line_error(cli("generate", cond_onnx, "-o", tmp_path / "a", "--labels", bad), "'unicorn' is not a class")
    one_line_error(cli("generate", cond_onnx, "-o", tmp_path / "b", "--count", 5, "--labels", "7"), "out of range")
    one_line_error(cli("generate", cond_onnx, "-o", tmp_path / "c", "--count", 5, "--labels", "x.csv"),
                   "nor an existing CSV/JSON")
    one_line_error(cli("generate", tmp_path / "missing.onnx", "-o", tmp_path / "d", "--count", 5), "does not exist")


def test_output_folder_rules(cli, uncond_onnx, tmp_path):
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("mine")
    one_line_error(cli("generate", uncond_onnx, "-o", used, "--count", 4), "is not empty (notes.txt)")
    out = tmp_path / "out"
    args = ["generate", uncond_onnx, "-o", out, "--count", 12, "--shard-size", 5, "--workers", 1, "--json"]
    assert cli(*args).code == 0
    one_line_error(cli(*args), "pass --resume to continue it")
    one_line_error(cli(*args, "--resume", "--truncation", 0.7), "--truncation is 1.0 in plan.json but 0.7 now")
    one_line_error(cli(*args, "--resume", "--seed", 3, "--format", "npz"),
                   "--seed is 0 in plan.json but 3 now; --format is 'webdataset' in plan.json but 'npz' now")
    again = cli(*args, "--resume", "--workers", 2, "--batch-size", 3)  # execution settings may change
    assert again.code == 0 and again.json()["shards_rendered"] == 0 and again.json()["shards_complete_before"] == 3


def test_resume_on_a_new_folder_just_starts(cli, uncond_onnx, tmp_path):
    result = cli("generate", uncond_onnx, "-o", tmp_path / "new", "--count", 3, "--workers", 1, "--resume", "--json")
    assert result.code == 0 and result.json()["images_rendered"] == 3


def test_a_second_run_on_the_same_folder_is_refused_while_the_first_holds_it(cli, uncond_onnx, tmp_path):
    from ganedge.generate.store import OutputLock

    out = tmp_path / "out"
    out.mkdir()
    with OutputLock(out):
        one_line_error(cli("generate", uncond_onnx, "-o", out, "--count", 3), "being written by another")


def test_damaged_and_unmarked_shards_are_redone(cli, uncond_onnx, tmp_path):
    out = tmp_path / "out"
    args = ["generate", uncond_onnx, "-o", out, "--count", 20, "--shard-size", 5, "--workers", 1, "--json"]
    first = cli(*args)
    assert first.code == 0
    tar = out / "000001.tar"
    data = bytearray(tar.read_bytes())
    data[700] ^= 0xFF  # one flipped byte inside the first PNG
    tar.write_bytes(bytes(data))
    (out / "000002.json").unlink()  # as if killed between the tar's rename and its marker
    (out / ".000003.tar.123.abcd.tmp").write_bytes(b"half")
    index_before = json.loads((out / "index.json").read_text())
    report = cli(*args, "--resume").json()
    assert report["shards_damaged"] == [{"shard": 1, "problem": "000001.tar does not match its checksum"}]
    assert report["shards_rendered"] == 2 and report["leftovers_removed"] == 1
    assert sorted(written_seeds(out)) == list(range(20))
    assert json.loads((out / "index.json").read_text())["shards"] == index_before["shards"]  # bytes are reproducible


def test_ray_missing_names_the_extra(uncond_onnx, tmp_path):
    code = ("import sys; sys.modules['ray'] = None\n"  # as if Ray were not installed
            "from ganedge.cli.main import main\n"
            f"main(['generate', {str(uncond_onnx)!r}, '-o', {str(tmp_path / 'out')!r}, '--count', '4', '--ray', 'auto'])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "pip install 'ganedge[ray]'" in result.stderr, result.stderr


def test_resume_follows_the_model_bytes_not_its_path(cli, uncond_onnx, tmp_path):
    import shutil

    from tests.generate.conftest import add_class_names

    out = tmp_path / "out"
    args = ["-o", out, "--count", 10, "--shard-size", 5, "--workers", 1, "--json"]
    assert cli("generate", uncond_onnx, *args).code == 0
    (out / "000001.json").unlink()
    moved = shutil.copy(uncond_onnx, tmp_path / "moved.onnx")
    resumed = cli("generate", moved, *args, "--resume")
    assert resumed.code == 0 and resumed.json()["shards_rendered"] == 1
    assert sorted(written_seeds(out)) == list(range(10))
    other = add_class_names(shutil.copy(uncond_onnx, tmp_path / "other.onnx"), [])  # same graph, other bytes
    one_line_error(cli("generate", other, *args, "--resume"), "the model (sha256) is ")
