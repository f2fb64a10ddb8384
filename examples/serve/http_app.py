"""The HTTP service: Starlette routes over one ``ganedge.sdk.Batcher``.

    GET /sample?seed=S&n=N[&format=png|json][&label=K][&truncation=PSI]   (see protocol.py)
    GET /healthz
    GET /metrics                                                          (see metrics.py)

Every request for images goes through the Batcher, so requests that arrive together share one
backend call (Triton's dynamic batching, in process). Images depend only on their seeds, so a
response equals ``sdk.load(model).sample(n, seed=S)`` byte for byte, whatever it was batched with.

Under overload it sheds work instead of answering late: 503 with Retry-After when the Batcher's
queue is full (or the service is starting or stopping), 504 when a request waited longer than
``request_timeout_s``, and a client that hangs up is noticed at once. In both of the last two
cases the request is taken out of the queue (never rendered), and it is never counted as served.
500 means the model produced NaN/Inf.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ganedge import sdk
from ganedge.errors import BadInputError, ClosedError, NumericalError, QueueFullError

from metrics import CLIENT_GONE, Metrics
from protocol import Problem, encode, image_headers, parse_sample_query
from settings import ServeSettings

log = logging.getLogger("ganedge.serve")


async def hung_up(receive) -> None:
    """Return once the client disconnects (a GET has no body, so the next ASGI message is that)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def images_or_drop(future, request: Request, timeout_s: float):
    """The Batcher's result, or: the work is cancelled (still queued: never rendered) and we raise."""
    images, gone = asyncio.wrap_future(future), asyncio.ensure_future(hung_up(request.receive))
    try:
        done, _ = await asyncio.wait({images, gone}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if images in done:
        return images.result()
    images.cancel()  # cancels the Batcher's future too
    if gone in done:
        raise Problem(CLIENT_GONE, "the client closed the connection before its answer")
    raise Problem(504, f"no images within {timeout_s:g} s; the service is overloaded")


class SampleService:
    """One model behind one Batcher, and the handlers that use them."""

    def __init__(self, settings: ServeSettings, generator: sdk.Generator | None):
        self.settings, self.generator, self.batcher, self.ready = settings, generator, None, False
        self.metrics = Metrics()
        self.retry_after = {"Retry-After": str(settings.retry_after_s)}

    @contextlib.asynccontextmanager
    async def lifespan(self, app):
        s = self.settings
        g = self.generator = self.generator or await run_in_threadpool(
            sdk.load, s.model, backend=s.backend, device=s.device, threads=s.threads)
        s.check(g.manifest)
        await run_in_threadpool(g.sample, 1, 0, None, 1.0, 0 if g.manifest.conditional else None)  # warm up
        self.batcher = sdk.Batcher(g, max_batch=s.max_batch, max_delay_ms=s.max_delay_ms, max_queue=s.max_queue)
        self.ready = True
        try:
            yield
        finally:
            self.ready = False
            await run_in_threadpool(self.batcher.close, True)  # finishes what was accepted
            g.close()

    def submit(self, query):
        try:
            return self.batcher.submit(query.seed, query.n, labels=query.label, truncation=query.truncation)
        except QueueFullError:
            raise Problem(503, f"busy: the queue is full ({self.settings.max_queue} images); retry after "
                               f"{self.settings.retry_after_s} s", headers=self.retry_after) from None
        except ClosedError:
            raise Problem(503, "the service is shutting down; retry on another instance",
                          headers=self.retry_after) from None
        except BadInputError as exc:  # parse_sample_query should have caught it; say what the SDK said
            raise Problem(422, str(exc)) from None

    async def sample(self, request: Request) -> Response:
        started, query = time.perf_counter(), None
        self.metrics.requests += 1
        try:
            if not self.ready:
                raise Problem(503, "the service is starting or shutting down; retry shortly", headers=self.retry_after)
            query = parse_sample_query(request, self.settings.max_n, self.generator.manifest)
            future = self.submit(query)
            with self.metrics.in_flight(query.n):
                images = await images_or_drop(future, request, self.settings.request_timeout_s)
            body, media_type = await run_in_threadpool(encode, images, query)  # PNG encoding is CPU work
            if await request.is_disconnected():
                raise Problem(CLIENT_GONE, "the client closed the connection before its answer")
            response = Response(body, media_type=media_type, headers=image_headers(query))
        except Problem as problem:
            response = problem.response()
        except NumericalError as exc:
            log.error("model produced NaN/Inf: %s", exc)
            response = Problem(500, str(exc)).response()
        self.metrics.record(response.status_code, query.n if query else 0, started)
        return response

    async def healthz(self, request: Request) -> Response:
        if not self.ready:
            return JSONResponse({"status": "unavailable"}, status_code=503, headers=self.retry_after)
        g, m = self.generator, self.generator.manifest
        return JSONResponse({"status": "ok", "model": self.settings.model, "backend": g.backend, "device": g.device,
                             "precision": g.precision, "arch": m.arch, "image_shape": list(m.image_shape),
                             "latent_dim": m.latent_dim, "num_classes": m.num_classes, "max_n": self.settings.max_n})

    async def metrics_route(self, request: Request) -> Response:
        return JSONResponse(self.metrics.snapshot(self.batcher))


async def http_error(request: Request, exc: HTTPException) -> Response:
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))


def create_app(settings: ServeSettings, generator: sdk.Generator | None = None) -> Starlette:
    """The ASGI app. ``generator``: an already loaded model (the server loads it before binding its
    port, so a bad model fails fast); None loads ``settings.model`` at startup. Either way the app
    closes it at shutdown, after the Batcher has finished every accepted request."""
    settings.check()
    service = SampleService(settings, generator)
    routes = [Route("/sample", service.sample, methods=["GET"]), Route("/healthz", service.healthz, methods=["GET"]),
              Route("/metrics", service.metrics_route, methods=["GET"])]
    app = Starlette(routes=routes, lifespan=service.lifespan, exception_handlers={HTTPException: http_error})
    app.state.metrics = service.metrics
    return app
