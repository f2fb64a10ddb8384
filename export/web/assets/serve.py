"""Serve this folder on localhost with the headers WebAssembly threads need.

    python serve.py [--port 8000] [--bind 127.0.0.1]

Threads in onnxruntime-web need SharedArrayBuffer, which browsers give only to
cross-origin-isolated pages: the server must send Cross-Origin-Opener-Policy: same-origin and
Cross-Origin-Embedder-Policy: require-corp. `python -m http.server` does not, so the page then
runs on one thread. Python's standard library only; written by `ganedge export web`.
"""

import argparse
import functools
import http.server
import os


class IsolatedHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript"}

    def end_headers(self) -> None:
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--bind", default="127.0.0.1")
    args = parser.parse_args()
    handler = functools.partial(IsolatedHandler, directory=os.path.dirname(os.path.abspath(__file__)))
    with http.server.ThreadingHTTPServer((args.bind, args.port), handler) as server:
        print(f"serving on http://{args.bind}:{server.server_address[1]}/ (cross-origin isolated: threads on)")
        server.serve_forever()


if __name__ == "__main__":
    main()
