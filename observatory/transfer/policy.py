"""Which URLs a transfer may fetch: schemes, credentials, hosts and the addresses they
resolve to. The address check is what stops a batch url (or a redirect) from making the
processor read from loopback, the local network or a cloud metadata service."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from observatory.errors import TransferRefused
from observatory.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata services (AWS/GCP/Azure/OpenStack, AWS IPv6, AWS ECS, Alibaba): refused
# whatever the settings say, because what they answer is credentials.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)
SUPPORTED_SCHEMES = ("file", "http", "https")


@dataclass(frozen=True)
class CheckedTarget:
    """An http(s) url that passed the policy, with the addresses it may be reached at."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def check_url(settings: Settings, url: str) -> None:
    """Refuse ``url`` unless the transfer policy allows fetching it.

    A plain path counts as ``file``. Raises TransferRefused naming the url and the reason:
    a scheme not in ``settings.processor.allowed_schemes`` (or one no fetcher exists for),
    user:password in the url, a file url naming a remote host, or an http(s)
    host that does not resolve or resolves to any non-public address (loopback, private,
    link-local, multicast, unspecified, reserved). Non-public addresses pass when
    ``processor.allow_private_addresses`` is set or the host is in
    ``processor.allowed_hosts``; metadata-service addresses never pass. Resolves DNS.
    """
    parts = split_url(settings, url)
    if parts.scheme in ("http", "https"):
        check_http(settings, url, parts)


def split_url(settings: Settings, url: str) -> SplitResult:
    """Parse ``url`` and apply the checks that need no DNS; returns its parts."""
    if not url or "\x00" in url or any(ord(c) < 32 for c in url):
        raise TransferRefused(f"refused url {url!r}: empty or holds control characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower() or "file"
    if len(scheme) == 1 and url[1:2] == ":":
        scheme = "file"  # a Windows drive letter, not a scheme
    allowed = [s.lower() for s in settings.processor.allowed_schemes]
    if scheme not in allowed:
        raise TransferRefused(
            f"refused url {url!r}: scheme {scheme!r} is not allowed (allowed: {allowed})"
        )
    if scheme not in SUPPORTED_SCHEMES:
        raise TransferRefused(
            f"refused url {url!r}: scheme {scheme!r} is not supported "
            f"(supported: {list(SUPPORTED_SCHEMES)})"
        )
    if "@" in parts.netloc:
        raise TransferRefused(f"refused url {url!r}: credentials (user@) are not allowed in urls")
    if scheme == "file" and parts.netloc not in ("", "localhost"):
        raise TransferRefused(f"refused url {url!r}: a file url must not name a remote host")
    return parts._replace(scheme=scheme)


def check_http(settings: Settings, url: str, parts: SplitResult | None = None) -> CheckedTarget:
    """Check an http(s) url and resolve its host; returns every address it may use.

    Connecting only to the returned addresses (never resolving again) is what keeps a DNS
    answer that changes between check and connect (rebinding) from reaching a refused one.
    """
    parts = parts or split_url(settings, url)
    if parts.scheme not in ("http", "https"):
        raise TransferRefused(f"refused url {url!r}: expected http or https")
    host = parts.hostname
    if not host:
        raise TransferRefused(f"refused url {url!r}: no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise TransferRefused(f"refused url {url!r}: bad port ({error})") from error
    addresses = resolve(url, host, port)
    # Every address, not only the first: a host answering with a public and a private
    # address would otherwise reach the private one on the connection's fallback.
    for address in addresses:
        check_address(settings, url, host, ipaddress.ip_address(address))
    return CheckedTarget(url, parts.scheme, host, port, addresses)


def check_address(settings: Settings, url: str, host: str, address: IPAddress) -> None:
    """Refuse ``address`` (which ``host`` names or resolves to) unless it is public, or
    non-public and allowed (``processor.allowed_hosts``, ``allow_private_addresses``);
    a cloud metadata address is never allowed."""
    reason = refusal_reason(address)
    if reason is None:
        return
    listed = host.lower() in {h.lower() for h in settings.processor.allowed_hosts}
    if reason != "a cloud metadata address" and (
        listed or settings.processor.allow_private_addresses
    ):
        return
    raise TransferRefused(
        f"refused url {url!r}: host {host!r} is {address}, {reason} "
        "(allow it with processor.allowed_hosts or processor.allow_private_addresses)"
    )


def resolve(url: str, host: str, port: int) -> tuple[str, ...]:
    """Every address ``host`` resolves to (IP literals as they are); refuses on failure."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise TransferRefused(
            f"refused url {url!r}: host {host!r} does not resolve ({error})"
        ) from error
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]  # drop an IPv6 zone id
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise TransferRefused(f"refused url {url!r}: host {host!r} has no address")
    return tuple(addresses)


def refusal_reason(address: IPAddress) -> str | None:
    """Why ``address`` is not a public unicast address, or None when it is one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    checks = (
        (address in METADATA_ADDRESSES, "a cloud metadata address"),
        (address.is_loopback, "a loopback address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a public address"),
    )
    for matched, reason in checks:
        if matched:
            return reason
    return None
