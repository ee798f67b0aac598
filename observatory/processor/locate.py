"""Where a batch's files are on this host: the folder in place (local path, ``file://``)
or a verified copy fetched by :mod:`observatory.transfer`."""

from __future__ import annotations

import importlib.util
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from observatory.errors import TransferRefused
from observatory.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocatedBatch:
    """A batch readable on this host: its name, folder, manifest (None when the folder
    has none), the url it was named by and the bytes fetched to get it here."""

    name: str
    folder: Path
    manifest: dict[str, Any] | None
    url: str
    bytes_fetched: int = 0


def batch_name_from_url(url: str) -> str:
    """The batch name a url names: its last path segment (``.../20261123-obs-42/``).

    Raises TransferRefused when the url has no path segment."""
    parsed = urlparse(url)
    path = unquote(parsed.path) if parsed.scheme else url
    name = Path(path.rstrip("/")).name
    if not name:
        raise TransferRefused(f"{url!r} names no batch folder")
    return name


def _local_folder(url: str) -> Path | None:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if not parsed.scheme:
        return Path(url)
    return None


def _transfer_available() -> bool:
    return importlib.util.find_spec("observatory.transfer") is not None


def locate_batch(settings: Settings, url: str) -> LocatedBatch:
    """Make the batch at ``url`` readable here and return where it is.

    Uses ``observatory.transfer.fetch_batch`` (checks, manifest verification, download
    of http(s) batches into the repository). Where that package is not installed, a
    local path or ``file://`` folder is read in place and anything else is refused.
    Raises TransferRefused (refused url, missing folder) and what the transfer raises.
    """
    if _transfer_available():
        from observatory.transfer import fetch_batch

        fetched = fetch_batch(settings, url)
        return LocatedBatch(
            fetched.name, Path(fetched.folder), fetched.manifest, url, fetched.bytes_fetched
        )
    folder = _local_folder(url)
    if folder is None:
        raise TransferRefused(f"{url!r}: fetching remote batches needs observatory.transfer")
    if not folder.is_dir():
        raise TransferRefused(f"{url!r}: {folder} is not a folder")
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
    return LocatedBatch(batch_name_from_url(str(folder)), folder, manifest, url)


def batch_folder_here(settings: Settings, name: str, path: str | None, url: str) -> Path:
    """The batch's folder on this host: the recorded ``path`` when it exists here, else
    the repository copy, else fetched now from ``url``."""
    for candidate in (Path(path) if path else None, settings.repository_dir / name):
        if candidate is not None and candidate.is_dir():
            return candidate
    log.info("batch %s is not on this host; fetching it from %s", name, url)
    return locate_batch(settings, url).folder
