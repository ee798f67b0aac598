"""Fetch a file batch: a local folder or archive (:mod:`observatory.transfer.local_batch`),
an archive served over http(s), or a remote batch folder downloaded into the repository
file by file against its manifest."""

from __future__ import annotations

import fcntl
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from observatory.errors import TransferFailed, TransferRefused
from observatory.settings import Settings
from observatory.storage import require_free
from observatory.transfer.batch_url import check_batch_url
from observatory.transfer.download import download
from observatory.transfer.fetched import FetchedBatch, check_name, write_atomically
from observatory.transfer.http import open_get
from observatory.transfer.local_batch import extracted_batch, fetch_local
from observatory.transfer.manifest import (
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    file_matches,
    parse_manifest,
)
from observatory.transfer.remote_archive import download_archive

LOCK_NAME = ".transfer.lock"


def fetch_batch(settings: Settings, url: str) -> FetchedBatch:
    """Make the batch at ``url`` available locally and verified.

    The url must first pass :func:`~observatory.transfer.batch_url.check_batch_url` (the
    rule intake applied). A path or file:// url: see
    :func:`~observatory.transfer.local_batch.fetch_local` (a folder verified in place
    against its manifest or a manifest computed now; an archive file extracted into the
    repository). An http(s) url that does not end with ``/`` and answers with an archive
    (zip, tar, tar.gz, told by its first bytes) is downloaded (at most
    ``processor.max_batch_bytes``) and extracted into ``settings.repository_dir / <name>``
    (see :mod:`observatory.transfer.archive`). Any other http(s) url is the batch folder
    (``<base>/batches/<name>/``): ``manifest.json`` is fetched and validated, then each
    file (beside the manifest, after redirects) is downloaded into
    ``settings.repository_dir / <name>`` (see :func:`download`; files already there with
    the right sha256 are skipped, partial ones resumed), and the manifest is written there
    last; it must name the batch the url names. Raises TransferRefused (policy, manifest,
    archive, sizes above ``processor.max_file_bytes`` / ``max_batch_bytes``),
    TransferFailed (missing files, network), ChecksumMismatch (size or sha256).
    Concurrent fetches of one batch on this host take turns (a lock file in the folder).
    """
    checked = check_batch_url(settings, url)
    if checked.folder is not None:
        return fetch_local(settings, url, checked.folder, checked.name)
    if not urlsplit(url).path.endswith("/"):
        archive = download_archive(settings, url, checked.name)
        if archive is not None:
            try:
                size = archive.stat().st_size
                return extracted_batch(settings, url, archive, checked.name, size)
            finally:
                archive.unlink(missing_ok=True)
    return _fetch_remote(settings, url, checked.name)


def _fetch_remote(settings: Settings, url: str, name: str) -> FetchedBatch:
    parts = urlsplit(url)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/", "", ""))
    data, manifest_url = _get_manifest_bytes(settings, base + MANIFEST_NAME)
    manifest = parse_manifest(data, manifest_url)
    # Files sit beside the manifest, wherever redirects found it.
    base = urljoin(manifest_url, ".")
    check_name(url, manifest, name)
    _check_sizes(settings, url, manifest)
    folder = settings.repository_dir / manifest["batch"]
    folder.mkdir(parents=True, exist_ok=True)
    if folder.is_symlink():
        raise TransferRefused(f"refused {url}: {folder} is a symlink")
    fetched = 0
    with open(folder / LOCK_NAME, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        missing = [entry for entry in manifest["files"] if not file_matches(folder, entry)]
        needed = sum(entry["size"] for entry in missing)
        require_free(settings, folder, needed, f"batch {name} ({len(missing)} files to fetch)")
        for entry in missing:
            file_url = base + quote(entry["path"])
            dest = folder / entry["path"]
            dest.parent.mkdir(parents=True, exist_ok=True)
            fetched += download(settings, file_url, dest, entry["size"], entry["sha256"])
        write_atomically(folder / MANIFEST_NAME, data)
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
