"""A loopback HTTP proxy in front of the simulator that records each request's method and
path: proof of which devices a sequence spoke to (the simulator keeps no request log)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

FORWARDED = ("Accept", "Content-Type")


class RecordingProxy:
    """Forwards every request to ``target`` (``host:port``); ``requests`` lists
    ``(method, path)`` in arrival order."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._forward("GET")

            def do_PUT(self) -> None:
                self._forward("PUT")

            def _forward(self, method: str) -> None:
                with proxy._lock:
                    proxy.requests.append((method, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: self.headers[k] for k in FORWARDED if k in self.headers}
                reply = requests.request(
                    method, f"http://{target}{self.path}", data=body, headers=headers, timeout=30
                )
                self.send_response(reply.status_code)
                self.send_header("Content-Type", reply.headers.get("Content-Type", "text/plain"))
                self.send_header("Content-Length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

            def log_message(self, format: str, *args: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self._server.server_address[1]}"

    def paths_of(self, device: str) -> list[str]:
        """The paths sent to any ``device`` type (``"filterwheel"``, ...)."""
        with self._lock:
            return [path for _, path in self.requests if f"/api/v1/{device}/" in path]

    def commands(self) -> list[str]:
        """The PUTs other than Connect/Connected: what would move a device."""
        with self._lock:
            return [
                path
                for method, path in self.requests
                if method == "PUT" and not path.rsplit("/", 1)[-1].startswith("connect")
            ]


@contextmanager
def recording_proxy(target: str) -> Iterator[RecordingProxy]:
    proxy = RecordingProxy(target)
    # shutdown() waits for the loop's next poll: 0.5 s by default, at every test's end.
    serve = partial(proxy._server.serve_forever, poll_interval=0.02)
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy._server.shutdown()
        proxy._server.server_close()
        thread.join()
