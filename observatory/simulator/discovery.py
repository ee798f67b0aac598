"""Alpaca UDP discovery: answer ``alpacadiscovery1`` with ``{"AlpacaPort": N}``.

The socket binds every interface with SO_REUSEADDR and SO_REUSEPORT so several Alpaca
servers on one host share the discovery port (broadcasts reach each of them).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from typing import cast

log = logging.getLogger(__name__)

DISCOVERY_MESSAGE = b"alpacadiscovery1"


def discovery_socket(port: int, host: str = "") -> socket.socket:
    """A non-blocking UDP socket bound to ``host:port`` (all interfaces by default)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.bind((host, port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class DiscoveryResponder(asyncio.DatagramProtocol):
    """Replies to discovery datagrams with the HTTP port of this server."""

    def __init__(self, alpaca_port: int) -> None:
        self.reply = json.dumps({"AlpacaPort": alpaca_port}).encode()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if DISCOVERY_MESSAGE in data and self.transport is not None:
            self.transport.sendto(self.reply, addr)

    def error_received(self, exc: Exception) -> None:
        log.warning("discovery socket error: %s", exc)


async def start_discovery(
    alpaca_port: int, discovery_port: int
) -> tuple[asyncio.DatagramTransport, int]:
    """Serve discovery on ``discovery_port`` (0 = ephemeral); returns the transport and port."""
    loop = asyncio.get_running_loop()
    sock = discovery_socket(discovery_port)
    transport, _ = await loop.create_datagram_endpoint(
        lambda: DiscoveryResponder(alpaca_port), sock=sock
    )
    return transport, sock.getsockname()[1]
