"""HTTP GET through the transfer policy: every hop of a redirect chain is checked, and each
connection goes to an address that the check resolved and approved (no second lookup)."""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

from observatory import __version__
from observatory.errors import TransferFailed, TransferRefused
from observatory.settings import Settings
from observatory.transfer.policy import CheckedTarget, check_http

MAX_REDIRECTS = 5
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
USER_AGENT = f"observatory-transfer/{__version__}"


def open_get(
    settings: Settings, url: str, headers: dict[str, str] | None = None
) -> tuple[http.client.HTTPResponse, str]:
    """GET ``url`` and return the open response (status and headers read, body not) with
    the url that answered after redirects. The caller must close the response.

    Redirects are followed at most MAX_REDIRECTS times, each target checked like the first
    url (a redirect to file://, loopback, a private or a metadata address is refused).
    Raises TransferRefused (policy) or TransferFailed (connection, timeout, protocol).
    Timeouts: ``processor.transfer_timeout_s`` for the connect and for each read.
    """
    for _hop in range(MAX_REDIRECTS + 1):
        target = check_http(settings, url)
        response = _request(target, settings.processor.transfer_timeout_s, headers or {})
        if response.status not in REDIRECT_STATUSES:
            return response, url
        location = response.getheader("Location")
        response.close()
        if not location:
            raise TransferFailed(f"{url}: HTTP {response.status} redirect without a Location")
        url = urljoin(url, location)
    raise TransferRefused(f"refused url {url!r}: more than {MAX_REDIRECTS} redirects")


def _request(
    target: CheckedTarget, timeout_s: float, headers: dict[str, str]
) -> http.client.HTTPResponse:
    connection = _connection(target, timeout_s)
    parts = urlsplit(target.url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        connection.connect()
        _check_peer(connection, target)
        connection.request(
            "GET",
            path,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **headers},
        )
        return connection.getresponse()
    except (OSError, http.client.HTTPException) as error:
        connection.close()
        raise TransferFailed(f"{target.url}: {type(error).__name__}: {error}") from error


def _connection(target: CheckedTarget, timeout_s: float) -> http.client.HTTPConnection:
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout_s, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout_s)
    # http.client would resolve the host name again; connect to the approved addresses
    # instead (the Host header and TLS server name still carry the name).
    setattr(connection, "_create_connection", _pinned_connect(target.addresses))  # noqa: B010
    return connection


def _pinned_connect(addresses: tuple[str, ...]) -> Callable[..., socket.socket]:
    def connect(
        address: tuple[str, int], timeout: float, source: tuple[str, int] | None = None
    ) -> socket.socket:
        last_error: OSError | None = None
        for ip in addresses:
            try:
                return socket.create_connection((ip, address[1]), timeout, source)
            except OSError as error:
                last_error = error
        assert last_error is not None  # addresses is never empty
        raise last_error

    return connect


def _check_peer(connection: http.client.HTTPConnection, target: CheckedTarget) -> None:
    """The connected peer must be one of the approved addresses (belt and braces)."""
    assert connection.sock is not None
    peer = str(connection.sock.getpeername()[0]).split("%", 1)[0]
    if peer not in target.addresses:
        connection.close()
        raise TransferRefused(
            f"refused url {target.url!r}: connected to {peer}, not one of the checked "
            f"addresses {list(target.addresses)}"
        )
