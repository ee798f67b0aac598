"""A batch url on its face: what intake refuses at receipt and the transfer refuses again.

One rule for both places, so that an order the transfer would refuse never gets stored:
the scheme, user:password, an address literal in a refused range, the batch name the url
names (one plain folder name), and for local batches the folders they may come from
(``processor.local_roots``). Nothing here resolves a host name or touches the files; the
transfer adds those checks (:func:`observatory.transfer.policy.check_http`, and
:func:`check_local_root` with ``resolve=True``).
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, unquote

from observatory.errors import TransferRefused
from observatory.settings import Settings
from observatory.transfer.local import local_path
from observatory.transfer.manifest import BATCH_NAME
from observatory.transfer.policy import IPAddress, check_address, split_url

# An archive url names its batch without the suffix: ``.../night-42.tar.gz`` is night-42.
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
# The legacy IPv4 spellings inet_aton takes (127.1, 0x7f000001, 2130706433).
LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)


@dataclass(frozen=True)
class BatchUrl:
    """A batch url that passed :func:`check_batch_url`: its scheme (``file``, ``http``,
    ``https``), the batch name it names, and the folder when it is local."""

    url: str
    scheme: str
    name: str
    folder: Path | None


def check_batch_url(settings: Settings, url: str) -> BatchUrl:
    """Refuse ``url`` on its face as a batch url; returns its parts and batch name.

    Raises TransferRefused naming the url and the reason: what
    :func:`~observatory.transfer.policy.split_url` refuses (scheme, credentials, control
    characters, a file url naming a host), a last path segment that is not one plain batch
    name (``/``, ``..``, nothing), a local path that is relative, holds ``..`` or lies
    outside ``processor.local_roots`` (the message names the roots), an http(s) url with
    no host, a bad port, or a host that is an address literal (or ``localhost``) in a
    refused range. No DNS, no file system.
    """
    parts = split_url(settings, url)
    if parts.scheme == "file":
        folder = local_path(url, parts)
        name = _batch_name(url, folder.name)
        check_local_root(settings, url, folder)
        return BatchUrl(url, "file", name, folder)
    _check_host_literal(settings, url, parts)
    # The last segment as sent, decoded: '..%2f..%2fetc' is one segment, and not a name.
    name = _batch_name(url, unquote(parts.path.rstrip("/").rsplit("/", 1)[-1]))
    return BatchUrl(url, parts.scheme, name, None)


def batch_name_of(path: str) -> str:
    """The batch name a url's ``path`` names: its last segment, without an archive
    suffix (``""`` when there is none)."""
    return without_archive_suffix(path.rstrip("/").rsplit("/", 1)[-1])


def without_archive_suffix(name: str) -> str:
    """``night-42.tar.gz`` -> ``night-42``; other names as they are."""
    for suffix in ARCHIVE_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def check_batch_name(name: object, where: str) -> str:
    """Refuse a batch name that is not one plain folder name (letters, digits, ``._-``,
    not starting with a dot, at most 200 characters); returns it."""
    if not isinstance(name, str) or not BATCH_NAME.fullmatch(name):
        raise TransferRefused(
            f"{where}: batch name {name!r} is not one plain folder name "
            "(letters, digits, '.', '_', '-'; not starting with '.'; at most 200)"
        )
    return name


def check_local_root(settings: Settings, url: str, folder: Path, *, resolve: bool = False) -> None:
    """Refuse a local batch folder outside ``processor.local_roots``.

    The folder must be absolute, hold no ``..`` and lie strictly inside a root. With
    ``resolve`` (at transfer time, on the host that reads it) symbolic links are followed
    first, so a link inside a root cannot lead outside it.
    """
    if not folder.is_absolute():
        raise TransferRefused(f"refused url {url!r}: a local batch path must be absolute")
    if ".." in folder.parts:
        raise TransferRefused(f"refused url {url!r}: '..' is not allowed in a local path")
    roots = [_normal(root, resolve) for root in settings.local_roots]
    here = _normal(folder, resolve)
    if not any(here != root and here.is_relative_to(root) for root in roots):
        raise TransferRefused(
            f"refused url {url!r}: {here} is not inside processor.local_roots "
            f"({', '.join(str(root) for root in roots)})"
        )


def _normal(path: Path, resolve: bool) -> Path:
    return path.resolve() if resolve else Path(os.path.normpath(path.absolute()))


def _batch_name(url: str, segment: str) -> str:
    name = without_archive_suffix(segment)
    if not name:
        raise TransferRefused(f"refused url {url!r}: it names no batch folder")
    return check_batch_name(name, f"refused url {url!r}")


def _check_host_literal(settings: Settings, url: str, parts: SplitResult) -> None:
    host = parts.hostname
    if not host:
        raise TransferRefused(f"refused url {url!r}: no host")
    try:
        parts.port  # noqa: B018  (parsing the port is the check)
    except ValueError as error:
        raise TransferRefused(f"refused url {url!r}: bad port ({error})") from error
    address = _literal_address(host)
    if address is not None:
        check_address(settings, url, host, address)


def _literal_address(host: str) -> IPAddress | None:
    """The address ``host`` spells without DNS (``localhost`` is loopback), else None."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return ipaddress.ip_address("127.0.0.1")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if LEGACY_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None
