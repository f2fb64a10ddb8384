"""The HTTP service: Starlette routes over one ``ganedge.sdk.Batcher``.

    GET /sample?seed=S&n=N[&format=png|json][&label=K][&truncation=PSI]
    GET /healthz
    GET /metrics

Every request for images goes through the Batcher, so requests that arrive together share one
backend call (Triton's dynamic batching, in process). Images depend only on their seeds, so a
response equals ``sdk.load(model).sample(n, seed=S)`` byte for byte, whatever it was batched with.

Errors are JSON ``{"error": message, "param": name}``: 400 for a query that cannot be read
(not an integer, a repeated or unknown parameter), 422 for a value out of range, 503 with
Retry-After when the Batcher's queue is full or the service is shutting down, 504 when a
request waited longer than ``request_timeout_s``, 500 for a model that produced NaN/Inf.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import logging
import math
import re
import secrets
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ganedge import sdk
from ganedge.errors import BadInputError, ClosedError, NumericalError, QueueFullError
from ganedge.images import make_grid
from ganedge.latents import MAX_SEED

log = logging.getLogger("ganedge.serve")

PARAMS = ("seed", "n", "format", "label", "truncation")
FORMATS = ("png", "json")
MAX_TRUNCATION = 10.0  # psi beyond this only saturates images; a typo like 1e30 is refused
_UINT = re.compile(r"^[0-9]{1,100}$")  # ASCII digits only: int() would also take "+5", " 5", "5_0" and "٥"
_FLOAT = re.compile(r"^[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?$")
LATENCY_WINDOW = 4096  # recent requests kept for the latency percentiles in /metrics


@dataclass(frozen=True)
class ServeSettings:
    model: str
    host: str = "127.0.0.1"
    port: int = 8000
    max_n: int = 64  # images per request
    max_batch: int = 64  # images per backend call (Batcher)
    max_delay_ms: float = 2.0  # how long the oldest request waits for others to join its batch
    max_queue: int = 1024  # images waiting in the Batcher; beyond: 503 + Retry-After
    request_timeout_s: float = 30.0
    retry_after_s: int = 1
    backend: str = "auto"
    device: str = "auto"
    threads: int | None = None

    def check(self) -> None:
        if self.max_n < 1 or self.max_batch < 1 or self.max_queue < 1:
            raise BadInputError("--max-n, --max-batch and --max-queue must be >= 1")
        if self.max_n > self.max_queue:
            raise BadInputError(f"--max-n {self.max_n} can never fit --max-queue {self.max_queue}; raise --max-queue")
        if not 0 <= self.max_delay_ms < 60_000 or not self.request_timeout_s > 0:
            raise BadInputError("--max-delay-ms must be in [0, 60000) and --request-timeout-s > 0")


class Problem(Exception):
    """An HTTP error with a JSON body; raised by request parsing and turned into a response."""

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


def parse_sample_query(request: Request, settings: ServeSettings, manifest) -> SampleQuery:
    unknown = sorted(set(request.query_params.keys()) - set(PARAMS))
    if unknown:
        raise Problem(400, f"unknown parameter {unknown[0]!r}; /sample takes {', '.join(PARAMS)}", unknown[0])
    text = _one(request, "n")
    n = 1 if text is None else _integer(text, "n")
    if not 1 <= n <= settings.max_n:
        raise Problem(422, f"n must be in 1..{settings.max_n}, got {n}", "n")
    text = _one(request, "seed")
    seed_given = text is not None
    seed = _integer(text, "seed") if seed_given else secrets.randbelow(MAX_SEED - n + 1)
    if seed >= MAX_SEED:
        raise Problem(422, f"seed must be < 2**63 ({MAX_SEED}), got {seed}", "seed")
    if seed + n > MAX_SEED:
        raise Problem(422, f"seeds {seed}..{seed + n - 1} run past 2**63 - 1; lower seed or n", "seed")
    fmt = (_one(request, "format") or "png").lower()
    if fmt not in FORMATS:
        raise Problem(422, f"format must be one of {', '.join(FORMATS)}, got {fmt[:20]!r}", "format")
    text = _one(request, "label")
    label = None if text is None else _integer(text, "label")
    if manifest.num_classes == 0 and label is not None:
        raise Problem(422, "this model is unconditional: do not pass label", "label")
    if manifest.num_classes and label is None:
        raise Problem(422, f"this model is conditional: pass label=K with K in 0..{manifest.num_classes - 1}", "label")
    if label is not None and label >= manifest.num_classes:
        raise Problem(422, f"label must be in 0..{manifest.num_classes - 1}, got {label}", "label")
    text = _one(request, "truncation")
    truncation = 1.0
    if text is not None:
        if not _FLOAT.match(text):
            raise Problem(400, f"truncation must be a decimal number such as 0.7, got {text[:40]!r}", "truncation")
        truncation = float(text)
        if not math.isfinite(truncation) or truncation > MAX_TRUNCATION:
            raise Problem(422, f"truncation must be in [0, {MAX_TRUNCATION:g}], got {text[:40]}", "truncation")
    return SampleQuery(seed, n, fmt, label, truncation, seed_given)


# --- encoding ----------------------------------------------------------------------------------


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


# --- metrics -----------------------------------------------------------------------------------


class Metrics:
    """Counters for /metrics. Updated on the event loop only, so no lock is needed."""

    def __init__(self):
        self.started = time.time()
        self.requests = 0
        self.statuses: Counter[int] = Counter()
        self.images_served = 0
        self.in_flight_requests = 0
        self.in_flight_images = 0
        self.latencies_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)

    def snapshot(self, batcher: sdk.Batcher | None) -> dict:
        lat = np.array(self.latencies_ms, dtype=np.float64)
        pct = {f"p{q}": round(float(np.percentile(lat, q)), 3) for q in (50, 90, 99)} if lat.size else {}
        stats = batcher.stats() if batcher is not None else sdk.BatcherStats()
        return {
            "uptime_s": round(time.time() - self.started, 3),
            "requests": self.requests,
            "responses_by_status": {str(k): v for k, v in sorted(self.statuses.items())},
            "images_served": self.images_served,
            # Images accepted by the Batcher and not yet returned: queued plus the batch being rendered.
            "queue_depth": self.in_flight_images,
            "in_flight_requests": self.in_flight_requests,
            "latency_ms": {"window": int(lat.size), **pct},
            "batcher": {**asdict(stats), "mean_batch": round(stats.mean_batch, 3)},
        }


# --- the app -----------------------------------------------------------------------------------


def create_app(settings: ServeSettings, generator: sdk.Generator | None = None) -> Starlette:
    """The ASGI app. ``generator``: an already loaded model (the server loads it before binding its
    port, so a bad model fails fast); None loads ``settings.model`` at startup. Either way the app
    closes it at shutdown, after the Batcher has finished every accepted request."""
    settings.check()
    state = {"generator": generator, "batcher": None, "ready": False}
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app):
        g = state["generator"] or await run_in_threadpool(
            sdk.load, settings.model, backend=settings.backend, device=settings.device, threads=settings.threads)
        state["generator"] = g
        # One call before the first client: onnxruntime/torch allocate and pick kernels on first use.
        await run_in_threadpool(g.sample, 1, 0, None, 1.0, 0 if g.manifest.conditional else None)
        state["batcher"] = sdk.Batcher(g, max_batch=settings.max_batch, max_delay_ms=settings.max_delay_ms,
                                       max_queue=settings.max_queue)
        state["ready"] = True
        try:
            yield
        finally:
            state["ready"] = False
            await run_in_threadpool(state["batcher"].close, True)  # finishes what was accepted
            g.close()

    def service_unavailable(message: str) -> Problem:
        return Problem(503, message, headers={"Retry-After": str(settings.retry_after_s)})

    async def sample(request: Request) -> Response:
        started = time.perf_counter()
        metrics.requests += 1
        response = await _sample(request)
        metrics.statuses[response.status_code] += 1
        if response.status_code == 200:
            metrics.latencies_ms.append((time.perf_counter() - started) * 1000.0)
        return response

    async def _sample(request: Request) -> Response:
        batcher: sdk.Batcher | None = state["batcher"]
        try:
            if not state["ready"] or batcher is None:
                raise service_unavailable("the service is starting or shutting down; retry shortly")
            query = parse_sample_query(request, settings, state["generator"].manifest)
            try:
                future = batcher.submit(query.seed, query.n, labels=query.label, truncation=query.truncation)
            except QueueFullError:
                raise service_unavailable(f"busy: the queue is full ({settings.max_queue} images); retry after "
                                          f"{settings.retry_after_s} s") from None
            except ClosedError:
                raise service_unavailable("the service is shutting down; retry on another instance") from None
            except BadInputError as exc:  # parse_sample_query should have caught it; say what the SDK said
                raise Problem(422, str(exc)) from None
            metrics.in_flight_requests += 1
            metrics.in_flight_images += query.n
            try:
                images = await asyncio.wait_for(asyncio.wrap_future(future), settings.request_timeout_s)
            except asyncio.TimeoutError:
                raise Problem(504, f"no images within {settings.request_timeout_s:g} s; the service is overloaded") from None
            except NumericalError as exc:
                log.error("model produced NaN/Inf: %s", exc)
                raise Problem(500, str(exc)) from None
            finally:
                metrics.in_flight_requests -= 1
                metrics.in_flight_images -= query.n
        except Problem as problem:
            return problem.response()
        body, media_type = await run_in_threadpool(encode, images, query)  # PNG encoding is CPU work
        metrics.images_served += query.n
        last = query.seed + query.n - 1
        headers = {"X-Seed": str(query.seed), "X-Seeds": f"{query.seed}-{last}" if query.n > 1 else str(query.seed),
                   "X-Image-Count": str(query.n),
                   # Same query, same model -> same bytes; a random seed is not worth caching.
                   "Cache-Control": "public, max-age=3600" if query.seed_given else "no-store"}
        return Response(body, media_type=media_type, headers=headers)

    async def healthz(request: Request) -> Response:
        g = state["generator"]
        if not state["ready"] or g is None:
            return JSONResponse({"status": "unavailable"}, status_code=503,
                                headers={"Retry-After": str(settings.retry_after_s)})
        m = g.manifest
        return JSONResponse({"status": "ok", "model": settings.model, "backend": g.backend, "device": g.device,
                             "precision": g.precision, "arch": m.arch, "image_shape": list(m.image_shape),
                             "latent_dim": m.latent_dim, "num_classes": m.num_classes, "max_n": settings.max_n})

    async def metrics_route(request: Request) -> Response:
        return JSONResponse(metrics.snapshot(state["batcher"]))

    async def http_error(request: Request, exc: HTTPException) -> Response:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    routes = [Route("/sample", sample, methods=["GET"]), Route("/healthz", healthz, methods=["GET"]),
              Route("/metrics", metrics_route, methods=["GET"])]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error})
    app.state.metrics = metrics
    return app
