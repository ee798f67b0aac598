"""An http(s) url that serves a batch as one archive (the original design's
``"url": "https://myaddres.org/get?allfiles"``), told by the body's first bytes."""

from __future__ import annotations

import http.client
import os
import tempfile
from pathlib import Path

from observatory.errors import TransferFailed, TransferRefused
from observatory.settings import Settings
from observatory.transfer.archive import archive_kind_of
from observatory.transfer.http import open_get
from observatory.transfer.manifest import CHUNK_BYTES

HEAD_BYTES = 512


def download_archive(settings: Settings, url: str, name: str) -> Path | None:
    """GET ``url``; when it answers 200 with a body that starts like a zip, tar or gzip
    file, stream the body into a hidden file of the repository and return its path (the
    caller removes it). None, with nothing kept, when it answers otherwise.

    The transfer policy applies to the url and every redirect (see :func:`open_get`).
    Raises TransferRefused when the archive is above ``processor.max_batch_bytes``
    (announced or received), TransferFailed for network errors and short bodies.
    """
    response, final_url = open_get(settings, url)
    try:
        if response.status != 200:
            return None
        head = _read_head(response)
        if archive_kind_of(head) is None:
            return None
        limit = settings.processor.max_batch_bytes
        announced = response.getheader("Content-Length") or ""
        if announced.isdigit() and int(announced) > limit:
            raise TransferRefused(
                f"refused archive {final_url}: {announced} bytes, above "
                f"processor.max_batch_bytes ({limit})"
            )
        return _save(settings, response, head, final_url, name, limit)
    except (OSError, http.client.HTTPException) as error:
        raise TransferFailed(f"{final_url}: {type(error).__name__}: {error}") from error
    finally:
        response.close()


def _read_head(response: http.client.HTTPResponse) -> bytes:
    head = b""
    while len(head) < HEAD_BYTES and (chunk := response.read(HEAD_BYTES - len(head))):
        head += chunk
    return head


def _save(
    settings: Settings,
    response: http.client.HTTPResponse,
    head: bytes,
    url: str,
    name: str,
    limit: int,
) -> Path:
    settings.repository_dir.mkdir(parents=True, exist_ok=True)
    handle, name_tmp = tempfile.mkstemp(prefix=f".{name}.archive-", dir=settings.repository_dir)
    path = Path(name_tmp)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(head)
            received = len(head)
            while chunk := response.read(CHUNK_BYTES):
                received += len(chunk)
                if received > limit:
                    raise TransferRefused(
                        f"refused archive {url}: body runs past processor.max_batch_bytes ({limit})"
                    )
                out.write(chunk)
        announced = response.getheader("Content-Length") or ""
        if announced.isdigit() and received < int(announced):
            raise TransferFailed(f"{url}: body ended after {received} of {announced} bytes")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
