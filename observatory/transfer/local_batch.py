"""A batch on this host's file system: a folder verified in place (against its manifest,
or a manifest computed now and kept in the repository), or an archive file extracted
into the repository. The originals are only read: nothing is written beside them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from observatory.errors import TransferFailed, TransferRefused
from observatory.settings import Settings
from observatory.transfer.archive import archive_kind, extract_into
from observatory.transfer.batch_url import check_local_root
from observatory.transfer.fetched import FetchedBatch, check_name, manifest_bytes, write_atomically
from observatory.transfer.listing import compute_manifest, list_folder
from observatory.transfer.manifest import MANIFEST_NAME, read_local_manifest, verify_file
from observatory.transfer.staging import staged

# Manifests computed for folders that brought none, by batch name. A batch name never
# starts with a dot, so this folder never collides with a batch's own.
COMPUTED_MANIFESTS = ".manifests"


def fetch_local(settings: Settings, url: str, path: Path, name: str) -> FetchedBatch:
    """Verify the folder at ``path`` in place, or extract the archive file at ``path``.

    Symbolic links are resolved first and the result must lie inside
    ``processor.local_roots``. A folder with a ``manifest.json`` is checked against it
    (every listed file present, regular, with its size and sha256); a folder without one
    gets a manifest computed now (every FITS file, at any depth) and kept as
    ``<repository>/.manifests/<name>.json``. Raises TransferRefused (roots, unsafe
    manifest or archive), TransferFailed (missing, no FITS file, unreadable),
    ChecksumMismatch.
    """
    check_local_root(settings, url, path, resolve=True)
    if path.is_file():
        if archive_kind(path) is None:
            raise TransferFailed(f"{url}: {path} is a file, neither a batch folder nor an archive")
        return extracted_batch(settings, url, path, name)
    if not path.is_dir():
        raise TransferFailed(f"{url}: {path} is not a batch folder")
    return verify_folder(settings, url, path, name)


def verify_folder(
    settings: Settings, url: str, folder: Path, name: str, *, same_name: bool = True
) -> FetchedBatch:
    """Check ``folder`` against its manifest, or compute one (see :func:`fetch_local`).

    ``same_name``: the manifest must name batch ``name`` (an archive's need not: its url,
    ``.../get?allfiles``, seldom spells the batch)."""
    listing = list_folder(folder)
    if (folder / MANIFEST_NAME).is_file():
        manifest = read_local_manifest(folder)
        if same_name:
            check_name(url, manifest, name)
        for entry in manifest["files"]:
            verify_file(folder, entry)
        listed = {str(entry["path"]) for entry in manifest["files"]}
        others = sorted(p for p in (*listing.frames, *listing.ignored) if p not in listed)
        return FetchedBatch(name, folder, manifest, 0, url, tuple(others))
    if not listing.frames:
        raise TransferFailed(
            f"{url}: no FITS files (.fits, .fit, .fts, also .fz or .gz) in {folder} "
            f"and no {MANIFEST_NAME}"
        )
    manifest = compute_manifest(folder, name, listing)
    return FetchedBatch(
        name, folder, manifest, 0, url, listing.ignored, keep_manifest(settings, name, manifest)
    )


def keep_manifest(settings: Settings, name: str, manifest: dict[str, object]) -> Path:
    """Write a computed manifest into the repository; returns where."""
    kept = settings.repository_dir / COMPUTED_MANIFESTS / f"{name}.json"
    kept.parent.mkdir(parents=True, exist_ok=True)
    if kept.parent.is_symlink():
        raise TransferRefused(f"refused: {kept.parent} is a symbolic link")
    write_atomically(kept, manifest_bytes(dict(manifest)))
    return kept


def extracted_batch(
    settings: Settings, url: str, archive: Path, name: str, bytes_fetched: int = 0
) -> FetchedBatch:
    """Extract ``archive`` (see :mod:`observatory.transfer.archive`) and verify the result
    as a folder, all in a staging folder that becomes ``<repository>/<name>`` only when
    both passed."""
    with staged(settings, url, name) as staging:
        extract_into(settings, url, archive, staging)
        fetched = verify_folder(settings, url, staging, name, same_name=False)
    return replace(fetched, folder=settings.repository_dir / name, bytes_fetched=bytes_fetched)
