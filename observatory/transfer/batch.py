"""Fetch a file batch: verify a local folder in place, or download a remote one into the
repository, file by file, against its manifest."""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from observatory.errors import TransferFailed, TransferRefused
from observatory.settings import Settings
from observatory.transfer.batch_url import check_batch_url, check_local_root
from observatory.transfer.download import download
from observatory.transfer.http import open_get
from observatory.transfer.manifest import (
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    file_matches,
    parse_manifest,
    read_local_manifest,
    verify_file,
)

LOCK_NAME = ".transfer.lock"


@dataclass(frozen=True)
class FetchedBatch:
    """A batch ready to ingest: ``folder`` holds every file of ``manifest``, verified."""

    name: str
    folder: Path
    manifest: dict[str, Any]
    bytes_fetched: int  # received over the network by this call (0 for a local batch)
    url: str


def fetch_batch(settings: Settings, url: str) -> FetchedBatch:
    """Make the batch at ``url`` available locally and verified.

    A path or file:// url: the folder's manifest.json is validated and every listed file
    checked (present, regular, size, sha256) in place; files not listed are ignored; the
    folder itself is returned (nothing copied). An http(s) url (the batch folder,
    ``<base>/batches/<name>/``): ``manifest.json`` is fetched and validated, then each file
    (beside the manifest, after redirects) is downloaded into
    ``settings.repository_dir / <name>`` (see :func:`download`; files already there with
    the right sha256 are skipped, partial ones resumed), and the manifest is written there
    last. The manifest's batch name must equal the folder's (or
    the url's last path segment). Raises TransferRefused (policy, manifest, sizes above
    ``processor.max_file_bytes`` / ``max_batch_bytes``), TransferFailed (missing files,
    network), ChecksumMismatch (size or sha256). Concurrent fetches of one batch on this
    host take turns (a lock file in the folder).
    """
    checked = check_batch_url(settings, url)
    if checked.folder is not None:
        check_local_root(settings, url, checked.folder, resolve=True)
        return _verify_local(url, checked.folder)
    return _fetch_remote(settings, url, checked.name)


def _verify_local(url: str, folder: Path) -> FetchedBatch:
    if not folder.is_dir():
        raise TransferFailed(f"{url}: {folder} is not a batch folder")
    manifest = read_local_manifest(folder)
    _check_name(url, manifest, folder.name)
    for entry in manifest["files"]:
        verify_file(folder, entry)
    return FetchedBatch(manifest["batch"], folder, manifest, 0, url)


def _fetch_remote(settings: Settings, url: str, name: str) -> FetchedBatch:
    parts = urlsplit(url)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/", "", ""))
    data, manifest_url = _get_manifest_bytes(settings, base + MANIFEST_NAME)
    manifest = parse_manifest(data, manifest_url)
    # Files sit beside the manifest, wherever redirects found it.
    base = urljoin(manifest_url, ".")
    _check_name(url, manifest, name)
    _check_sizes(settings, url, manifest)
    folder = settings.repository_dir / manifest["batch"]
    folder.mkdir(parents=True, exist_ok=True)
    if folder.is_symlink():
        raise TransferRefused(f"refused {url}: {folder} is a symlink")
    fetched = 0
    with open(folder / LOCK_NAME, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for entry in manifest["files"]:
            if file_matches(folder, entry):
                continue
            file_url = base + quote(entry["path"])
            dest = folder / entry["path"]
            fetched += download(settings, file_url, dest, entry["size"], entry["sha256"])
        _write_atomically(folder / MANIFEST_NAME, data)
    return FetchedBatch(manifest["batch"], folder, manifest, fetched, url)


def _get_manifest_bytes(settings: Settings, manifest_url: str) -> tuple[bytes, str]:
    """The manifest's bytes (at most one more than allowed) and the url that answered."""
    response, final_url = open_get(settings, manifest_url)
    try:
        if response.status != 200:
            raise TransferFailed(f"{final_url}: HTTP {response.status} {response.reason}")
        return response.read(MAX_MANIFEST_BYTES + 1), final_url
    except OSError as error:
        raise TransferFailed(f"{final_url}: {type(error).__name__}: {error}") from error
    finally:
        response.close()


def _check_name(url: str, manifest: dict[str, Any], expected: str) -> None:
    if manifest["batch"] != expected:
        raise TransferRefused(
            f"refused {url}: the manifest names batch {manifest['batch']!r}, the url {expected!r}"
        )


def _check_sizes(settings: Settings, url: str, manifest: dict[str, Any]) -> None:
    """Refuse before any download when a file or the total is above the limits."""
    max_file = settings.processor.max_file_bytes
    for entry in manifest["files"]:
        if entry["size"] > max_file:
            raise TransferRefused(
                f"refused {url}: {entry['path']} has {entry['size']} bytes, above "
                f"processor.max_file_bytes ({max_file})"
            )
    total = sum(entry["size"] for entry in manifest["files"])
    if total > settings.processor.max_batch_bytes:
        raise TransferRefused(
            f"refused {url}: the batch has {total} bytes, above processor.max_batch_bytes "
            f"({settings.processor.max_batch_bytes})"
        )


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(tmp, path)
