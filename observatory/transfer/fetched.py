"""What a fetch hands the processor, and the small file operations fetches share."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from observatory.errors import TransferRefused


@dataclass(frozen=True)
class FetchedBatch:
    """A batch ready to ingest: ``folder`` holds every file of ``manifest``, verified.

    ``ignored`` lists the folder's other files (logs, previews, other formats), relative
    and sorted; ``manifest_file`` is where the manifest is kept when this host computed it
    (None when the batch brought its own)."""

    name: str
    folder: Path
    manifest: dict[str, Any]
    bytes_fetched: int  # received over the network by this call (0 for a local batch)
    url: str
    ignored: tuple[str, ...] = ()
    manifest_file: Path | None = None


def check_name(url: str, manifest: dict[str, Any], expected: str) -> None:
    """Refuse a manifest that names another batch than the url does."""
    if manifest["batch"] != expected:
        raise TransferRefused(
            f"refused {url}: the manifest names batch {manifest['batch']!r}, the url {expected!r}"
        )


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file of its own (two writers never
    share one) and a rename, synced first."""
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, indent=1).encode()
