"""`ganedge sample --walk / --interp-grid` on real models: the files decode back to the SDK's frames."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganedge import sdk
from ganedge.images import make_grid, psnr

GIF_MIN_PSNR = 40.0  # frames with > 256 colours, median cut to 256: measured 45.8 dB on the 32 px test model
MP4_MIN_PSNR = 35.0  # H.264 at our CRF, even scale: measured 39.2 (16 px at 2x) and 41.4 dB (32 px at 2x)


def read_animation(path: Path) -> tuple[np.ndarray, int]:
    """Every frame as a player shows it: a frame merged with its repeats (longer delay) counts once per
    frame interval. Returns (uint8 (n, H, W, 3), the shortest delay in ms)."""
    with Image.open(path) as image:
        shown = []
        for i in range(image.n_frames):
            image.seek(i)
            shown.append((np.asarray(image.convert("RGB")), int(image.info["duration"])))
    step = min(d for _, d in shown)
    frames = [f for f, d in shown for _ in range(int(round(d / step)))]
    return np.stack(frames), step


def read_mp4(path: Path, height: int, width: int) -> np.ndarray:
    """Decode with the ffmpeg that imageio-ffmpeg ships (its own reader leaves pipes open once ffmpeg exits)."""
    import imageio_ffmpeg

    result = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "rawvideo",
                             "-pix_fmt", "rgb24", "-"], capture_output=True, timeout=60, check=True)
    return np.frombuffer(result.stdout, dtype=np.uint8).reshape(-1, height, width, 3)


def walk_frames(model: Path, seeds, frames_per_step, loop=False, scale=1, **kwargs) -> np.ndarray:
    with sdk.load(model) as g:
        frames = np.concatenate(list(g.walk(seeds, frames_per_step, loop=loop, **kwargs)))
    return frames.repeat(scale, 1).repeat(scale, 2)


def test_gif_walk_of_a_16px_model_is_lossless(models, tmp_path, cli):
    out = tmp_path / "walk.gif"
    result = cli("sample", models["mlp"], "--walk", "3,17,42", "--frames", "6", "--loop", "--scale", "4",
                 "--fps", "20", "-o", out, "--json")
    assert result.code == 0, result.err
    report = result.json()
    assert report["frames"] == 18 and report["bytes"] == out.stat().st_size and report["loop"] is True
    decoded, delay = read_animation(out)
    assert delay == 50  # 20 frames/s
    np.testing.assert_array_equal(decoded, walk_frames(models["mlp"], [3, 17, 42], 6, loop=True, scale=4))
    with Image.open(out) as image:
        assert image.info["loop"] == 0  # plays forever


def test_gif_of_frames_with_more_than_256_colours_stays_close(models, tmp_path, cli):
    out = tmp_path / "walk.gif"
    assert cli("sample", models["dcgan"], "--walk", "1,2", "--frames", "4", "-o", out).code == 0
    decoded, _ = read_animation(out)
    expected = walk_frames(models["dcgan"], [1, 2], 4)
    assert decoded.shape == expected.shape
    assert psnr(decoded, expected) >= GIF_MIN_PSNR


def test_webp_walk_is_lossless(models, tmp_path, cli):
    out = tmp_path / "walk.webp"
    result = cli("sample", models["dcgan"], "--walk", "5,6,7", "--frames", "4", "--mode", "lerp", "--scale", "2",
                 "-o", out)
    assert result.code == 0, result.err
    assert "wrote walk of 9 frames" in result.out
    decoded, delay = read_animation(out)
    assert delay == 40  # the default 25 frames/s
    np.testing.assert_array_equal(decoded, walk_frames(models["dcgan"], [5, 6, 7], 4, mode="lerp", scale=2))


@pytest.mark.parametrize("model, scale", [("mlp", 2), ("dcgan", 2)])
def test_mp4_walk_decodes_within_codec_tolerance(models, tmp_path, cli, model, scale):
    out = tmp_path / "walk.mp4"
    result = cli("sample", models[model], "--walk", "0,1,2", "--frames", "8", "--loop", "--scale", scale, "-o", out,
                 "--json")
    assert result.code == 0, result.err
    expected = walk_frames(models[model], [0, 1, 2], 8, loop=True, scale=scale)
    decoded = read_mp4(out, *expected.shape[1:3])
    assert decoded.shape == expected.shape
    assert psnr(decoded, expected) >= MP4_MIN_PSNR, psnr(decoded, expected)


def test_outdir_walk_writes_one_png_per_frame(models, tmp_path, cli):
    out = tmp_path / "frames"
    assert cli("sample", models["mlp"], "--walk", "9,4", "--frames", "3", "--outdir", out).code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"frame{i:06d}.png" for i in range(4)]
    expected = walk_frames(models["mlp"], [9, 4], 3)
    for i, name in enumerate(names):
        with Image.open(out / name) as image:
            np.testing.assert_array_equal(np.asarray(image), expected[i])


def test_interp_grid_rows_go_from_each_seed_to_the_next(models, tmp_path, cli):
    out = tmp_path / "interp.png"
    result = cli("sample", models["mlp"], "--interp-grid", "0-3", "--steps", "5", "-o", out, "--json")
    assert result.code == 0, result.err
    assert (result.json()["rows"], result.json()["steps"]) == (3, 5)
    with sdk.load(models["mlp"]) as g:
        rows = [g.interpolate(a, a + 1, 5) for a in range(3)]
        assert all((row[0] == g.sample(1, seed=a)[0]).all() for a, row in enumerate(rows))
    with Image.open(out) as image:
        np.testing.assert_array_equal(np.asarray(image), make_grid(np.concatenate(rows), cols=5))


def test_class_names_from_export_work_as_labels(models, tmp_path, cli):
    names = tmp_path / "classes.txt"
    names.write_text("\n".join(f"class{i}" for i in range(9)) + "\nzebra\n")
    model = tmp_path / "named.onnx"
    result = cli("export", "onnx", models["cond_run"], "-o", model, "--class-names", names)
    assert result.code == 0, result.err
    with sdk.load(model) as g:
        assert g.manifest.class_names[-1] == "zebra"
        np.testing.assert_array_equal(g.sample(2, labels="zebra"), g.sample(2, labels=9))
    grid = tmp_path / "zebras.png"
    assert cli("sample", model, "--seeds", "0-1", "--label", "zebra", "-o", grid).code == 0
    with Image.open(grid) as image, sdk.load(model) as g:
        np.testing.assert_array_equal(np.asarray(image), make_grid(g.sample(2, labels=9)))
    bad = cli("sample", model, "--walk", "1,2", "--label", "zebu", "-o", tmp_path / "x.gif")
    assert bad.code == 2 and "unknown class 'zebu'" in bad.err and "class0, class1" in bad.err and "zebra" in bad.err
    wrong_count = cli("export", "onnx", models["cond_run"], "-o", tmp_path / "y.onnx", "--class-names", grid.parent /
                      "missing.txt")
    assert wrong_count.code == 2 and "--class-names: cannot read" in wrong_count.err
    names.write_text("a\nb\n")
    assert "2 names for 10 classes" in cli("export", "onnx", models["cond_run"], "-o", tmp_path / "y.onnx",
                                            "--class-names", names).err


@pytest.mark.parametrize("args, match", [
    (["--interp-grid", "0-3", "--steps", "1", "-o", "{tmp}/a.png"], "--steps must be >= 2"),
    (["--walk", "1,2", "--frames", "0", "-o", "{tmp}/a.gif"], "--frames must be >= 1"),
    (["--walk", "1,2", "--mode", "cubic", "-o", "{tmp}/a.gif"], "mode must be one of slerp, lerp"),
    (["--walk", "1,9223372036854775808", "-o", "{tmp}/a.gif"], "outside [0, 2**63)"),
    (["--walk", "1", "-o", "{tmp}/a.gif"], "at least 2 seeds"),
    (["--walk", "1,2", "-o", "{tmp}/a.avi"], "unknown extension '.avi'"),
    (["--walk", "1,2", "-o", "{tmp}/file.txt/a.gif"], "cannot create output folder"),
    (["--walk", "1,2", "-o", "{tmp}/a.gif", "--fps", "60"], "at most 50"),
    (["--walk", "1,2", "--outdir", "{tmp}/d", "-o", "{tmp}/a.gif"], "give one"),
    (["--walk", "1,2", "--interp-grid", "0-3", "-o", "{tmp}/a.gif"], "not both"),
    (["--walk", "1,2", "--seeds", "0-3", "-o", "{tmp}/a.gif"], "--seeds is for grids"),
    (["--seeds", "0-3", "--loop", "-o", "{tmp}/a.png"], "--loop only applies with --walk"),
    (["--seeds", "0-3", "-o", "{tmp}/a.bmp"], "unknown image extension '.bmp'"),
    (["--walk", "1,2", "--label", "3", "-o", "{tmp}/a.gif"], "unconditional"),
])
def test_bad_input_is_one_line_and_exit_2(models, tmp_path, cli, args, match):
    (tmp_path / "file.txt").write_text("a file, so nothing can be created under it")
    result = cli("sample", models["mlp"], *[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.code == 2, result
    assert match in result.err and result.err.startswith("error: ") and result.err.count("\n") == 1, result.err
    assert not any(p.suffix in (".gif", ".png", ".tmp") for p in tmp_path.rglob("*"))


def test_mp4_without_the_video_extra_names_it(models, tmp_path):
    # A real process in which imageio cannot be imported (as after a plain `pip install ganedge[cpu]`).
    code = ("import sys\n"
            "sys.modules['imageio'] = None; sys.modules['imageio_ffmpeg'] = None\n"
            "from ganedge.cli.main import main\n"
            f"main(['sample', {str(models['mlp'])!r}, '--walk', '1,2', '-o', {str(tmp_path / 'w.mp4')!r}])\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr == "error: ganedge sample needs imageio (pip install 'ganedge[video]')\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name, fmt", [("grid.png", "PNG"), ("grid.jpg", "JPEG"), ("grid.JPEG", "JPEG"),
                                       ("grid.webp", "WEBP")])
def test_grid_is_written_in_the_format_its_extension_names(models, tmp_path, cli, name, fmt):
    out = tmp_path / name
    assert cli("sample", models["dcgan"], "--seeds", "0-3", "-o", out).code == 0
    with Image.open(out) as image:
        assert image.format == fmt
        pixels = np.asarray(image.convert("RGB"))
    with sdk.load(models["dcgan"]) as g:
        expected = make_grid(g.sample(4))
    if fmt == "JPEG":  # lossy by design; quality 95 at 4:4:4 keeps it close
        assert psnr(pixels, expected) >= 30
    else:
        np.testing.assert_array_equal(pixels, expected)


def test_json_report_of_a_walk(models, tmp_path, cli):
    result = cli("sample", models["mlp"], "--walk", "0,1", "--frames", "2", "-o", tmp_path / "w.webp", "--json")
    report = json.loads(result.out)
    assert report["frames"] == 3 and report["backend"] == "onnxruntime" and report["fps"] == 25.0
