"""The wire format of /sample: reading its query strictly, and encoding its images as PNG or JSON.

Errors are JSON ``{"error": message, "param": name}``: 400 for a value that cannot be read (not
a whole number in ASCII digits, a repeated or unknown parameter), 422 for a value out of range.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import secrets
from dataclasses import dataclass

import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse

from ganedge.images import make_grid
from ganedge.latents import MAX_SEED
from ganedge.sdk.limits import output_nbytes

PARAMS = ("seed", "n", "format", "label", "truncation")
FORMATS = ("png", "json")
MAX_TRUNCATION = 10.0  # psi beyond this only saturates images; a typo like 1e30 is refused
_UINT = re.compile(r"^[0-9]{1,100}$")  # ASCII digits only: int() would also take "+5", " 5", "5_0" and "٥"
_FLOAT = re.compile(r"^[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?$")


class Problem(Exception):
    """An HTTP error with a JSON body; raised while handling a request and turned into its response."""

    def __init__(self, status: int, message: str, param: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.headers = status, message, param, headers or {}

    def response(self) -> JSONResponse:
        body = {"error": self.message}
        if self.param:
            body["param"] = self.param
        return JSONResponse(body, status_code=self.status, headers=self.headers)


@dataclass(frozen=True)
class SampleQuery:
    seed: int
    n: int
    format: str
    label: int | None
    truncation: float
    seed_given: bool


def _one(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise Problem(400, f"{name} is given {len(values)} times; give it once", name)
    return values[0] if values else None


def _integer(text: str, name: str) -> int:
    if not _UINT.match(text):
        if text.startswith("-") and _UINT.match(text[1:]):
            raise Problem(422, f"{name} must not be negative, got {text}", name)
        raise Problem(400, f"{name} must be a whole number written in digits, got {text[:40]!r}", name)
    return int(text)


def _count(request: Request, max_n: int, image_shape) -> int:
    text = _one(request, "n")
    n = 1 if text is None else _integer(text, "n")
    if not 1 <= n <= max_n:  # checked before anything is allocated, however large n is
        raise Problem(422, f"n must be in 1..{max_n}, got {n} (that would be {output_nbytes(n, image_shape)} bytes "
                           "of images)", "n")
    return n


def _seed(request: Request, n: int) -> tuple[int, bool]:
    text = _one(request, "seed")
    if text is None:
        return secrets.randbelow(MAX_SEED - n + 1), False
    seed = _integer(text, "seed")
    if seed >= MAX_SEED:
        raise Problem(422, f"seed must be < 2**63 ({MAX_SEED}), got {seed}", "seed")
    if seed + n > MAX_SEED:
        raise Problem(422, f"seeds {seed}..{seed + n - 1} run past 2**63 - 1; lower seed or n", "seed")
    return seed, True


def _label(request: Request, num_classes: int) -> int | None:
    text = _one(request, "label")
    label = None if text is None else _integer(text, "label")
    if num_classes == 0 and label is not None:
        raise Problem(422, "this model is unconditional: do not pass label", "label")
    if num_classes and label is None:
        raise Problem(422, f"this model is conditional: pass label=K with K in 0..{num_classes - 1}", "label")
    if label is not None and label >= num_classes:
        raise Problem(422, f"label must be in 0..{num_classes - 1}, got {label}", "label")
    return label


def _truncation(request: Request) -> float:
    text = _one(request, "truncation")
    if text is None:
        return 1.0
    if not _FLOAT.match(text):
        raise Problem(400, f"truncation must be a decimal number such as 0.7, got {text[:40]!r}", "truncation")
    truncation = float(text)
    if not math.isfinite(truncation) or truncation > MAX_TRUNCATION:
        raise Problem(422, f"truncation must be in [0, {MAX_TRUNCATION:g}], got {text[:40]}", "truncation")
    return truncation


def parse_sample_query(request: Request, max_n: int, manifest) -> SampleQuery:
    unknown = sorted(set(request.query_params.keys()) - set(PARAMS))
    if unknown:
        raise Problem(400, f"unknown parameter {unknown[0]!r}; /sample takes {', '.join(PARAMS)}", unknown[0])
    n = _count(request, max_n, manifest.image_shape)
    seed, seed_given = _seed(request, n)
    fmt = (_one(request, "format") or "png").lower()
    if fmt not in FORMATS:
        raise Problem(422, f"format must be one of {', '.join(FORMATS)}, got {fmt[:20]!r}", "format")
    label = _label(request, manifest.num_classes)
    return SampleQuery(seed, n, fmt, label, _truncation(request), seed_given)


def png_bytes(image: np.ndarray) -> bytes:
    """uint8 (H, W, C) -> PNG. compress_level 1: a few percent larger, several times faster to encode."""
    from PIL import Image

    if image.shape[2] == 1:
        image = image[:, :, 0]
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def encode(images: np.ndarray, query: SampleQuery) -> tuple[bytes, str]:
    """(body, media type): one PNG (n == 1), a grid PNG, or JSON with one base64 PNG per seed."""
    if query.format == "png":
        return png_bytes(images[0] if query.n == 1 else make_grid(images)), "image/png"
    h, w, c = images.shape[1:]
    items = [{"seed": query.seed + i, "png": base64.b64encode(png_bytes(img)).decode("ascii")}
             for i, img in enumerate(images)]
    payload = {"n": query.n, "width": w, "height": h, "channels": c, "label": query.label,
               "truncation": query.truncation, "images": items}
    return json.dumps(payload).encode("utf-8"), "application/json"


def image_headers(query: SampleQuery) -> dict[str, str]:
    """Which seeds a response holds, and whether it may be cached (same query, same model: same bytes)."""
    last = query.seed + query.n - 1
    return {"X-Seed": str(query.seed), "X-Seeds": f"{query.seed}-{last}" if query.n > 1 else str(query.seed),
            "X-Image-Count": str(query.n),
            "Cache-Control": "public, max-age=3600" if query.seed_given else "no-store"}
