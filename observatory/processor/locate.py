"""Where a batch's files are on this host: the folder in place (local path, ``file://``)
or a verified copy fetched by :mod:`observatory.transfer`, on whichever host asks."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from observatory.errors import TransferRefused
from observatory.settings import Settings
from observatory.transfer import fetch_batch
from observatory.transfer.batch_url import batch_name_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocatedBatch:
    """A batch readable on this host: its name, folder, manifest (None when the folder
    has none; its entries' sizes and sha256 verified against the files when located),
    the url it was named by, the bytes fetched to get it here and the files
    beside its frames that are not calibrated (logs, previews, other formats)."""

    name: str
    folder: Path
    manifest: dict[str, Any] | None
    url: str
    bytes_fetched: int = 0
    ignored: tuple[str, ...] = ()


def batch_name_from_url(url: str) -> str:
    """The batch name a url names: its last path segment (``.../20261123-obs-42/``),
    without an archive suffix (``.../night-42.tar.gz``), as intake recorded it.

    Raises TransferRefused when the url has no path segment."""
    parsed = urlparse(url)
    if parsed.scheme.lower() in ("http", "https"):
        path = unquote(parsed.path.rstrip("/").rsplit("/", 1)[-1])
    else:
        path = unquote(parsed.path) if parsed.scheme else url
    name = batch_name_of(path)
    if not name:
        raise TransferRefused(f"{url!r} names no batch folder")
    return name


def locate_batch(settings: Settings, url: str) -> LocatedBatch:
    """Make the batch at ``url`` readable here with ``observatory.transfer.fetch_batch``
    (a local folder is verified in place against its manifest, or one computed now; an
    archive is extracted and an http(s) batch downloaded into the repository) and return
    where it is. Raises what the transfer
    raises (TransferRefused, TransferFailed, ChecksumMismatch)."""
    fetched = fetch_batch(settings, url)
    return LocatedBatch(
        fetched.name,
        Path(fetched.folder),
        fetched.manifest,
        url,
        fetched.bytes_fetched,
        fetched.ignored,
    )


def batch_folder_here(settings: Settings, name: str, path: str | None, url: str) -> Path:
    """The batch's folder on this host: the recorded ``path`` when it exists here, else
    the repository copy, else fetched now from ``url``."""
    for candidate in (Path(path) if path else None, settings.repository_dir / name):
        if candidate is not None and candidate.is_dir():
            return candidate
    log.info("batch %s is not on this host; fetching it from %s", name, url)
    return locate_batch(settings, url).folder
