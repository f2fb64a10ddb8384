"""Animations of uint8 frames: GIF and animated WebP through Pillow, MP4 through imageio + ffmpeg.

    with AnimationWriter("walk.gif", fps=25, upscale=4) as out:
        for frames in g.walk([3, 17, 42], 60, loop=True):   # uint8 (n, H, W, C) batches
            out.write(frames)

What comes back when the file is decoded:

- WebP: lossless, every pixel as written.
- GIF: a GIF frame holds at most 256 colours. A frame with <= 256 distinct colours (any 16x16 image, and
  nearest upscaling adds none) gets its own exact palette: lossless. A frame with more is reduced to 256
  by median cut without dithering (dither noise flickers from frame to frame); decoded, it differs by
  what those 256 colours cannot hold (see the tests for the measured PSNR).
- MP4: H.264 (libx264, yuv420p, so every player shows it) at CRF :data:`MP4_CRF`. yuv420p stores colour
  at half resolution, so colour is pixel-exact only in 2x2 blocks: upscale small models by an even factor
  (``--scale 2`` or more). So written, walks of our (noise-like, saturated) test generators decode at
  39-42 dB PSNR at 2x and 4x; at 1x they fall to 16 dB (16 px) and 30 dB (32 px). Needs
  ``pip install 'ganedge[video]'``.

GIF and WebP encoders need every frame at once, so those frames are held (as palette/RGB images) until
``close()``; MP4 frames stream to ffmpeg. GIF and WebP merge a frame identical to the one before into
it (its delay is added), which a player shows identically. Files appear atomically on success.
GIF delays are whole hundredths of a second and browsers slow any delay under 0.02 s down to 0.1 s, so
GIFs take at most :data:`MAX_GIF_FPS` frames per second.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ganedge.errors import BadInputError
from ganedge.extras import require_all
from ganedge.fsutil import atomic_path
from ganedge.images import upscale_nearest

ANIMATION_FORMATS = {".gif": "GIF", ".webp": "WEBP", ".mp4": "MP4"}
MAX_GIF_FPS = 50
MP4_CRF = 12  # x264 constant-rate factor: 0 lossless, 18 "visually lossless" for camera footage; see the docstring
# RGB -> YUV by area averaging with exact rounding: a 2x2 block of one colour (any even --scale) keeps its
# chroma exactly (ffmpeg's default bicubic smears it across blocks: 30 vs 39 dB on a 16 px model at 2x).
# faststart puts the index first, so browsers start playing before the whole file has arrived.
MP4_PARAMS = ("-sws_flags", "area+accurate_rnd+full_chroma_int", "-movflags", "+faststart")


def animation_format(path: str | os.PathLike) -> str:
    """GIF, WEBP or MP4 from the extension; any other is bad input."""
    suffix = os.path.splitext(str(path))[1].lower()
    if suffix not in ANIMATION_FORMATS:
        raise BadInputError(f"cannot write an animation to {path}: unknown extension {suffix or '(none)'!r}; "
                            f"use {', '.join(ANIMATION_FORMATS)}, or --outdir for one PNG per frame")
    return ANIMATION_FORMATS[suffix]


def check_fps(fmt: str, fps: float) -> float:
    if not (isinstance(fps, (int, float)) and 0 < fps <= 240):
        raise BadInputError(f"fps must be a number in (0, 240], got {fps!r}")
    if fmt == "GIF" and fps > MAX_GIF_FPS:
        raise BadInputError(f"GIF plays at most {MAX_GIF_FPS} frames/s (delays are whole 1/100 s, and browsers slow "
                            f"shorter ones down): use --fps {MAX_GIF_FPS} or less, or write .webp or .mp4")
    return float(fps)


def import_video_writer():
    """imageio's v2 API with its ffmpeg plugin, or one line naming the extra."""
    require_all(("imageio", "imageio_ffmpeg"), "writing MP4")  # imageio-ffmpeg: the plugin, its wheel ships ffmpeg
    import imageio.v2 as imageio

    return imageio


def gif_frame(frame: np.ndarray):
    """A 'P' (palette) image of an RGB or gray uint8 (H, W, C) frame: exact when it has <= 256 colours."""
    from PIL import Image

    if frame.shape[2] == 1:  # gray: the level is the palette index, always exact
        image = Image.fromarray(frame[:, :, 0], "P")
        image.putpalette(np.repeat(np.arange(256, dtype=np.uint8), 3).tobytes())
        return image
    packed = (frame[..., 0].astype(np.uint32) << 16) | (frame[..., 1].astype(np.uint32) << 8) | frame[..., 2]
    colours, index = np.unique(packed.ravel(), return_inverse=True)
    if colours.size > 256:
        return Image.fromarray(frame).quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette = np.zeros((256, 3), dtype=np.uint8)
    palette[:colours.size] = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], axis=1)
    image = Image.fromarray(index.reshape(frame.shape[:2]).astype(np.uint8), "P")
    image.putpalette(palette.ravel().tobytes())
    return image


class AnimationWriter:
    """Write uint8 (n, H, W, C) frame batches to ``path`` (.gif, .webp or .mp4) at ``fps``, upscaled."""

    def __init__(self, path: str | os.PathLike, fps: float = 25.0, upscale: int = 1, mp4_crf: int = MP4_CRF):
        self.path = Path(path)
        self.format = animation_format(path)
        self.fps = check_fps(self.format, fps)
        self.upscale = upscale
        self.frames = 0
        self._held: list[Any] = []  # GIF/WebP: PIL images until close()
        self._atomic = self._tmp = self._video = None
        if self.format == "MP4":
            imageio = import_video_writer()
            self._atomic = atomic_path(self.path, suffix=".mp4")
            self._tmp = self._atomic.__enter__()
            self._video = imageio.get_writer(str(self._tmp), format="FFMPEG", mode="I", fps=self.fps, codec="libx264",
                                             pixelformat="yuv420p", macro_block_size=1, quality=None,
                                             ffmpeg_params=["-crf", str(mp4_crf), *MP4_PARAMS],
                                             ffmpeg_log_level="error")

    def write(self, frames: np.ndarray) -> None:
        from PIL import Image

        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[3] not in (1, 3):
            raise BadInputError(f"frames must be uint8 (n, H, W, 1|3), got {frames.dtype} {frames.shape}")
        for frame in frames:
            if self.format == "GIF":  # palette first, then upscale the small index image (adds no colours)
                image = gif_frame(frame)
                if self.upscale > 1:
                    image = image.resize((image.width * self.upscale, image.height * self.upscale), Image.NEAREST)
                self._held.append(image)
            elif self.format == "WEBP":
                big = upscale_nearest(frame, self.upscale)
                self._held.append(Image.fromarray(big[:, :, 0] if big.shape[2] == 1 else big).convert("RGB"))
            else:
                self._video.append_data(_even(np.repeat(upscale_nearest(frame, self.upscale), 3 // frame.shape[2], 2)))
            self.frames += 1

    def close(self) -> None:
        """Finish the file (and rename it into place). Writing no frame at all is an error."""
        if self.frames == 0:
            self.abort()
            raise BadInputError(f"no frames to write to {self.path}")
        if self.format == "MP4":
            try:
                self._video.close()  # ffmpeg finishes the file
            except Exception:
                self._video = None
                self.abort()
                raise
            self._video = None
            self._atomic.__exit__(None, None, None)
            self._atomic = None
            return
        ms = 1000.0 / self.fps
        first, rest = self._held[0], self._held[1:]
        options: dict[str, Any] = {"save_all": True, "append_images": rest, "loop": 0}
        if self.format == "GIF":
            options.update(duration=int(round(ms / 10.0)) * 10, disposal=1)
        else:
            options.update(duration=int(round(ms)), lossless=True, quality=100, method=4)
        with atomic_path(self.path) as tmp:
            first.save(tmp, format=self.format, **options)
        self._held = []

    def abort(self) -> None:
        """Drop what was written; the target file is left as it was."""
        self._held = []
        if self._video is not None:
            self._video.close()
            self._video = None
        if self._atomic is not None:
            self._atomic.__exit__(BadInputError, BadInputError("aborted"), None)  # removes the temporary file
            self._atomic = None

    def __enter__(self) -> "AnimationWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _even(frame: np.ndarray) -> np.ndarray:
    """yuv420p needs even sides: repeat the last row/column of an odd-sized frame (odd models only)."""
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return frame
