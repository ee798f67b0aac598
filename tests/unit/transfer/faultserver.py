"""A loopback HTTP server whose answers the tests script: whole or truncated bodies,
wrong lengths, chunked bodies, ignored Range, redirects. It records every request."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class FaultServer:
    port: int
    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def body(
    data: bytes,
    *,
    honour_range: bool = True,
    stop_after: int | None = None,
    content_length: int | None = None,
    chunked: bool = False,
) -> Handler:
    """Serve ``data`` (206 for ``Range: bytes=N-`` when ``honour_range``), optionally
    announcing ``content_length`` instead of the true length, closing after ``stop_after``
    body bytes, or sending it chunked without a length."""

    def handle(request: BaseHTTPRequestHandler) -> None:
        start = 0
        wanted = request.headers.get("Range")
        if honour_range and wanted and wanted.startswith("bytes=") and wanted.endswith("-"):
            start = int(wanted[6:-1])
        payload = data[start:]
        request.send_response(206 if start else 200)
        if start:
            request.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        if chunked:
            request.send_header("Transfer-Encoding", "chunked")
        else:
            length = len(payload) if content_length is None else content_length
            request.send_header("Content-Length", str(length))
        request.end_headers()
        if stop_after is not None:
            payload = payload[:stop_after]
        try:
            if chunked:
                for offset in range(0, len(payload), 65536):
                    piece = payload[offset : offset + 65536]
                    request.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                request.wfile.write(b"0\r\n\r\n")
            else:
                request.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client cut the body off, as some tests expect
        request.close_connection = True

    return handle


def redirect(location: str, status: int = 302) -> Handler:
    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        request.send_header("Location", location)
        request.send_header("Content-Length", "0")
        request.end_headers()

    return handle


@contextmanager
def fault_server() -> Iterator[FaultServer]:
    """Run a FaultServer on 127.0.0.1 (ephemeral port) in a thread until the block ends."""
    state = FaultServer(port=0)

    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            state.requests.append((self.path, dict(self.headers)))
            handler = state.routes.get(self.path)
            if handler is None:
                self.send_error(404)
                return
            handler(self)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
