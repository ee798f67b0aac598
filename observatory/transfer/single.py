"""Fetch one file (a product made on another host) to a local path."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from observatory.errors import ChecksumMismatch, TransferFailed, TransferRefused
from observatory.hashing import sha256_of
from observatory.settings import Settings
from observatory.transfer.download import download, part_path
from observatory.transfer.local import local_path
from observatory.transfer.manifest import file_holds
from observatory.transfer.policy import split_url


def fetch_file(
    settings: Settings,
    url: str,
    dest: Path,
    size: int | None = None,
    sha256: str | None = None,
) -> Path:
    """Fetch ``url`` to ``dest`` (parents created) and return ``dest``.

    ``size`` (bytes) and ``sha256`` (hex), when given, are checked before ``dest`` appears;
    a ``dest`` that already has the given sha256 is kept without fetching. http(s) urls
    follow the transfer policy and resume ``dest.part`` (see :func:`download`); a path or
    file:// url is copied (or only verified when it is ``dest`` itself). Raises
    TransferRefused, TransferFailed or ChecksumMismatch as :func:`fetch_batch` does.
    """
    sha256 = sha256.lower() if sha256 is not None else None
    parts = split_url(settings, url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if sha256 is not None and file_holds(dest, size, sha256):
        return dest
    if parts.scheme == "file":
        return _copy_local(settings, url, local_path(url, parts), dest, size, sha256)
    download(settings, url, dest, size, sha256)
    return dest


def _copy_local(
    settings: Settings, url: str, source: Path, dest: Path, size: int | None, sha256: str | None
) -> Path:
    try:
        mode = source.stat()
    except FileNotFoundError as error:
        raise TransferFailed(f"{url}: {source} does not exist") from error
    if not stat.S_ISREG(mode.st_mode):
        raise TransferRefused(f"refused {url}: {source} is not a regular file")
    limit = settings.processor.max_file_bytes
    if mode.st_size > limit:
        raise TransferRefused(
            f"refused {url}: {mode.st_size} bytes exceeds processor.max_file_bytes ({limit})"
        )
    same = dest.exists() and os.path.samefile(source, dest)
    checked = source if same else part_path(dest)
    if not same:
        shutil.copyfile(source, checked)
    actual_size = checked.stat().st_size
    actual_sha = sha256_of(checked) if sha256 is not None else None
    if (size is not None and actual_size != size) or actual_sha != sha256:
        if not same:
            checked.unlink()
        raise ChecksumMismatch(
            f"{url}: {actual_size} bytes sha256 {actual_sha}, expected {size} bytes sha256 {sha256}"
        )
    if not same:
        os.replace(checked, dest)
    return dest
