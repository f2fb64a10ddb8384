"""Serve a ganedge model over HTTP with uvicorn:  python examples/serve/server.py --model model.onnx

Every flag can also come from the environment (GANEDGE_SERVE_MODEL, GANEDGE_SERVE_PORT, ...; see
--help), which is how containers usually configure a service. The model is loaded before the port
is bound, so a bad model fails at once with a one-line error (exit 2) instead of a server that
answers 503 forever. Once listening, the server prints one JSON line on stdout:
``{"event": "ready", "url": "http://127.0.0.1:8000", ...}`` (with --port 0 the OS picks the port,
and this line says which). SIGTERM/SIGINT stop it gracefully: in-flight requests finish first.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parent))  # http_app.py beside this file, however we are run

from http_app import create_app  # noqa: E402
from settings import ServeSettings  # noqa: E402

ENV = "GANEDGE_SERVE_"


def _opt(*names, env: str, **kwargs):
    return click.option(*names, envvar=ENV + env, show_envvar=True, show_default=True, **kwargs)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket; port 0 lets the OS choose (read it back from the socket)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _ready_server(config, on_ready):
    import uvicorn

    class ReadyServer(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets=sockets)
            if self.started:
                on_ready()

    return ReadyServer(config)


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@_opt("--model", env="MODEL", required=True, metavar="PATH", help="An .onnx file, a TensorRT engine or a run directory.")
@_opt("--host", env="HOST", default="127.0.0.1", metavar="ADDR", help="Address to listen on (0.0.0.0: every interface).")
@_opt("--port", env="PORT", default=8000, type=click.IntRange(0, 65535), metavar="PORT", help="TCP port; 0 = any free one.")
@_opt("--max-n", env="MAX_N", default=64, type=click.IntRange(min=1), metavar="N", help="Most images one request may ask for.")
@_opt("--max-batch", env="MAX_BATCH", default=64, type=click.IntRange(min=1), metavar="N",
      help="Most images per backend call; concurrent requests are batched up to this.")
@_opt("--max-delay-ms", env="MAX_DELAY_MS", default=2.0, type=click.FloatRange(0, 60_000, max_open=True), metavar="MS",
      help="How long the oldest waiting request may wait for others to join its batch.")
@_opt("--max-queue", env="MAX_QUEUE", default=1024, type=click.IntRange(min=1), metavar="N",
      help="Images that may wait; beyond that requests get 503 with Retry-After.")
@_opt("--request-timeout-s", env="REQUEST_TIMEOUT_S", default=30.0, type=click.FloatRange(0, min_open=True),
      metavar="S", help="Answer 504 to a request that waited this long, and drop its work.")
@_opt("--backend", env="BACKEND", default="auto", type=click.Choice(["auto", "onnxruntime", "tensorrt", "torch"]),
      help="ganedge.sdk backend.")
@_opt("--device", env="DEVICE", default="auto", metavar="auto|cpu|cuda[:N]", help="Where the model runs.")
@_opt("--threads", env="THREADS", default=None, type=click.IntRange(min=1), metavar="N",
      help="CPU threads for the backend  [default: the cores this process may use]")
@_opt("--log-level", env="LOG_LEVEL", default="info", type=click.Choice(["debug", "info", "warning", "error"]),
      help="uvicorn's log level.")
@_opt("--access-log/--no-access-log", env="ACCESS_LOG", default=False, help="Log every request (costs CPU under load).")
def main(model, host, port, max_n, max_batch, max_delay_ms, max_queue, request_timeout_s, backend, device, threads,
         log_level, access_log):
    """Serve GET /sample?seed=S&n=N (PNG, or format=json), /healthz and /metrics.

    \b
    Examples:
      python examples/serve/server.py --model model.onnx
      python examples/serve/server.py --model model.onnx --port 0 --max-n 16 --max-delay-ms 5
      GANEDGE_SERVE_MODEL=model.engine GANEDGE_SERVE_HOST=0.0.0.0 python examples/serve/server.py
      curl -o face.png 'http://127.0.0.1:8000/sample?seed=42'
    """
    import uvicorn

    from ganedge import sdk
    from ganedge.errors import GanEdgeError

    settings = ServeSettings(model=model, host=host, port=port, max_n=max_n, max_batch=max_batch,
                             max_delay_ms=max_delay_ms, max_queue=max_queue, request_timeout_s=request_timeout_s,
                             backend=backend, device=device, threads=threads)
    try:
        settings.check()
        generator = sdk.load(model, backend=backend, device=device, threads=threads)
        settings.check(generator.manifest)
    except GanEdgeError as exc:
        click.echo(f"error: {' '.join(str(exc).split())}", err=True)
        sys.exit(exc.exit_code)
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    url = f"http://{'[' + bound_host + ']' if ':' in bound_host else bound_host}:{bound_port}"

    def on_ready() -> None:
        info = {"event": "ready", "url": url, "model": model, "backend": generator.backend,
                "device": generator.device, "max_n": max_n, "max_batch": max_batch, "max_delay_ms": max_delay_ms,
                "max_queue": max_queue}
        click.echo(json.dumps(info, sort_keys=True))
        sys.stdout.flush()

    logging.getLogger("ganedge").setLevel(log_level.upper())
    # Keep-alive longer than clients' and load balancers' idle timeouts (httpx 5 s, AWS ALB 60 s), so the
    # client closes an idle connection, never the server just as the client reuses it for a request.
    config = uvicorn.Config(create_app(settings, generator), log_level=log_level, access_log=access_log,
                            lifespan="on", timeout_keep_alive=75,
                            timeout_graceful_shutdown=max(5, int(request_timeout_s) + 1))
    _ready_server(config, on_ready).run(sockets=[sock])


if __name__ == "__main__":
    main()
