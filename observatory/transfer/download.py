"""Download one file over http(s) into place: through ``<dest>.part``, resumed with a Range
request when a partial file exists, bounded by the expected size and the settings, checked
against sha256 before the rename that makes it visible."""

from __future__ import annotations

import http.client
import os
import re
from pathlib import Path
from typing import BinaryIO

from observatory.errors import ChecksumMismatch, TransferFailed, TransferRefused
from observatory.hashing import sha256_of
from observatory.settings import Settings
from observatory.transfer.http import open_get
from observatory.transfer.manifest import CHUNK_BYTES, PART_SUFFIX

CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + PART_SUFFIX)


def download(settings: Settings, url: str, dest: Path, size: int | None, sha256: str | None) -> int:
    """Fetch ``url`` to ``dest``; returns the bytes received over the network.

    A ``dest.part`` left by an earlier attempt is resumed (``Range: bytes=N-``) and hashed
    first; a server that ignores Range makes it start again. Refused (TransferRefused, the
    partial file deleted): a size above ``processor.max_file_bytes``, a Content-Length or
    Content-Range that disagrees with ``size``, a body running past ``size`` or the limit.
    TransferFailed (partial file kept for the next attempt): HTTP errors, timeouts, a short
    body. ChecksumMismatch (partial file deleted): the sha256 differs. Never leaves a file
    at ``dest`` that failed a check; replaces ``dest`` atomically when all checks pass.
    """
    limit = settings.processor.max_file_bytes
    if size is not None and size > limit:
        raise TransferRefused(
            f"refused {url}: {size} bytes exceeds processor.max_file_bytes ({limit})"
        )
    part = part_path(dest)
    offset = _usable_part_size(part, size)
    received = 0
    if size is None or offset < size:
        received = _receive(settings, url, part, offset, size)
    # Hash what is on disk, resumed prefix included, rather than what went past in memory.
    if sha256 is not None and (digest := sha256_of(part)) != sha256:
        part.unlink()
        raise ChecksumMismatch(f"{url}: sha256 {digest}, expected {sha256}")
    os.replace(part, dest)
    return received


def _usable_part_size(part: Path, size: int | None) -> int:
    """Bytes of ``part`` worth resuming from (0 when absent or longer than expected)."""
    try:
        offset = part.stat().st_size
    except FileNotFoundError:
        return 0
    if size is not None and offset > size:
        part.unlink()
        return 0
    return offset


def _receive(
    settings: Settings,
    url: str,
    part: Path,
    offset: int,
    size: int | None,
) -> int:
    """One GET writing ``part`` from ``offset``; returns the bytes received."""
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    response, final_url = open_get(settings, url, headers)
    try:
        if offset and response.status == 416:
            # The partial file does not fit what the server holds now: start over.
            response.close()
            part.unlink()
            return _receive(settings, url, part, 0, size)
        if response.status == 200 and offset:
            offset = 0  # the server ignored Range: the body is the whole file
        elif response.status == 206 and offset:
            size = _check_content_range(response, final_url, offset, size)
        elif response.status != 200:
            raise TransferFailed(f"{final_url}: HTTP {response.status} {response.reason}")
        size = _check_length(settings, response, final_url, offset, size, part)
        with open(part, "ab" if offset else "wb") as file:
            received = _copy_body(settings, response, file, final_url, offset, size, part)
            file.flush()
            os.fsync(file.fileno())
    finally:
        response.close()
    if size is not None and offset + received < size:
        raise TransferFailed(
            f"{final_url}: body ended after {offset + received} of {size} bytes "
            f"(kept {part.name} to resume)"
        )
    return received


def _check_content_range(
    response: http.client.HTTPResponse, url: str, offset: int, size: int | None
) -> int | None:
    match = CONTENT_RANGE.match(response.getheader("Content-Range") or "")
    if not match or int(match[1]) != offset:
        raise TransferFailed(
            f"{url}: 206 with Content-Range {response.getheader('Content-Range')!r}, "
            f"asked for bytes {offset}-"
        )
    total = None if match[3] == "*" else int(match[3])
    if size is not None and total is not None and total != size:
        raise TransferRefused(f"refused {url}: the server holds {total} bytes, expected {size}")
    return size if size is not None else total


def _check_length(
    settings: Settings,
    response: http.client.HTTPResponse,
    url: str,
    offset: int,
    size: int | None,
    part: Path,
) -> int | None:
    """Check Content-Length against the expected size and the limit before any byte."""
    header = response.getheader("Content-Length")
    if header is None:
        return size
    if not header.isdigit():
        raise TransferFailed(f"{url}: Content-Length {header!r} is not a byte count")
    total = offset + int(header)
    limit = settings.processor.max_file_bytes
    if size is not None and total != size:
        part.unlink(missing_ok=True)
        raise TransferRefused(f"refused {url}: the server sends {total} bytes, expected {size}")
    if total > limit:
        part.unlink(missing_ok=True)
        raise TransferRefused(
            f"refused {url}: {total} bytes exceeds processor.max_file_bytes ({limit})"
        )
    return total


def _copy_body(
    settings: Settings,
    response: http.client.HTTPResponse,
    file: BinaryIO,
    url: str,
    offset: int,
    size: int | None,
    part: Path,
) -> int:
    """Stream the body into ``file``; stops and refuses past ``size`` or the limit."""
    limit = settings.processor.max_file_bytes if size is None else size
    received = 0
    try:
        while chunk := response.read(CHUNK_BYTES):
            received += len(chunk)
            if offset + received > limit:
                file.close()
                part.unlink()
                raise TransferRefused(
                    f"refused {url}: body runs past {limit} bytes "
                    f"({'the expected size' if size is not None else 'max_file_bytes'})"
                )
            file.write(chunk)
    except (OSError, http.client.HTTPException) as error:
        file.flush()
        raise TransferFailed(
            f"{url}: interrupted after {offset + received} bytes ({type(error).__name__}: "
            f"{error}); kept {part.name} to resume"
        ) from error
    return received
