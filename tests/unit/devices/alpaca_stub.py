"""A tiny Alpaca dome on loopback that answers with chosen replies.

It speaks real HTTP, so alpyca, requests and the adapter run unchanged; only the device's
answers are scripted: values for GETs, effects for PUTs, and per-member queues of
replies (Alpaca errors, HTTP statuses, slow or malformed bodies) served first.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Reply:
    """One scripted answer. ``raw_body`` replaces the JSON body when given."""

    value: Any = None
    error_number: int = 0
    error_message: str = ""
    http_status: int = 200
    delay_s: float = 0.0
    raw_body: str | None = None


def dome_values() -> dict[str, Any]:
    """A connected Platform 7 dome at rest: closed, azimuth 0, parked nowhere."""
    return {
        "connected": True,
        "connecting": False,
        "interfaceversion": 3,
        "azimuth": 0.0,
        "altitude": 0.0,
        "shutterstatus": 1,
        "atpark": False,
        "athome": False,
        "slewing": False,
        "cansetshutter": True,
        "cansetazimuth": True,
        "cansetaltitude": False,
        "canpark": True,
        "canfindhome": True,
    }


class AlpacaStub:
    """An Alpaca server for ``/api/v1/dome/0/<member>`` on an ephemeral loopback port."""

    def __init__(self) -> None:
        self.values = dome_values()
        # An effect may return a Reply to answer with (a refusal); None answers success.
        self.on_put: dict[str, Callable[[dict[str, str]], Reply | None]] = {}
        # Runs after a GET of the member has taken its value (a device that moves on).
        self.after_get: dict[str, Callable[[], None]] = {}
        self.requests: list[tuple[str, str]] = []
        # Members the device leaves out (optional in ASCOM): every request answers 0x400.
        self.not_implemented: set[str] = set()
        self._scripts: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()
        self._server_transaction_id = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll interval keeps shutdown quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def script(self, member: str, *replies: Reply) -> None:
        """Serve ``replies`` in order for the next requests of ``member``."""
        with self._lock:
            self._scripts.setdefault(member, []).extend(replies)

    def count(self, method: str, member: str) -> int:
        with self._lock:
            return self.requests.count((method, member))

    def start(self) -> AlpacaStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, method: str, member: str, params: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append((method, member))
            queue = self._scripts.get(member)
            if queue:
                return queue.pop(0)
        if member in self.not_implemented:
            return Reply(error_number=0x400, error_message=f"{member} is not implemented")
        if method == "PUT":
            effect = self.on_put.get(member)
            if effect is not None:
                return effect(params) or Reply()
            if member in self.values:
                self.values[member] = params.get(member.capitalize(), "").lower() == "true"
            return Reply()
        if member not in self.values:
            return Reply(http_status=400, raw_body=f"unknown member {member}")
        reply = Reply(value=self.values[member])
        effect = self.after_get.get(member)
        if effect is not None:
            effect()
        return reply

    def next_transaction_id(self) -> int:
        with self._lock:
            self._server_transaction_id += 1
            return self._server_transaction_id


def _handler_for(stub: AlpacaStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            self._serve("GET", {key: values[0] for key, values in query.items()})

        def do_PUT(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode())
            self._serve("PUT", {key: values[0] for key, values in form.items()})

        def _serve(self, method: str, params: dict[str, str]) -> None:
            member = urlsplit(self.path).path.rsplit("/", 1)[-1]
            reply = stub.answer(method, member, params)
            if reply.delay_s:
                time.sleep(reply.delay_s)
            body = reply.raw_body
            if body is None:
                body = json.dumps(
                    {
                        "Value": reply.value,
                        "ClientTransactionID": int(params.get("ClientTransactionID", 0)),
                        "ServerTransactionID": stub.next_transaction_id(),
                        "ErrorNumber": reply.error_number,
                        "ErrorMessage": reply.error_message,
                    }
                )
            encoded = body.encode()
            self.send_response(reply.http_status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            # A client that gave up on a slow reply has closed the connection: expected.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(encoded)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler
