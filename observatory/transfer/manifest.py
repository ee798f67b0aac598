"""A batch's ``manifest.json``: validating one from anywhere, and verifying a folder
against it (every listed file present, with its size and sha256)."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path, PurePosixPath
from typing import Any

from observatory.errors import ChecksumMismatch, TransferFailed, TransferRefused
from observatory.hashing import sha256_of

MANIFEST_NAME = "manifest.json"
MAX_MANIFEST_BYTES = 8 * 1024 * 1024
PART_SUFFIX = ".part"
# Batch names become a folder under the repository: one plain component. Matched with
# fullmatch: "$" alone would also accept a name ending in a newline.
BATCH_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
CHUNK_BYTES = 1024 * 1024
# Subfolders a batch may nest its files in (capture programs use two or three).
MAX_PATH_PARTS = 8


def parse_manifest(data: bytes, source: str) -> dict[str, Any]:
    """Decode and validate manifest bytes read from ``source`` (named in errors)."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise TransferRefused(f"refused manifest {source}: larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TransferRefused(f"refused manifest {source}: not JSON ({error})") from error
    return validate_manifest(manifest, source)


def validate_manifest(manifest: Any, source: str) -> dict[str, Any]:
    """Check the manifest's shape and every name in it; returns it with sha256 lowercased.

    Raises TransferRefused naming the offending field: a batch name that is not one plain
    path component, a file path that :func:`check_file_name` refuses, a duplicate, a
    negative or non-integer size, a sha256 that is not 64 hex.
    """
    if not isinstance(manifest, dict):
        raise TransferRefused(f"refused manifest {source}: not a JSON object")
    name = manifest.get("batch")
    if not isinstance(name, str) or not BATCH_NAME.fullmatch(name):
        raise TransferRefused(f"refused manifest {source}: batch name {name!r} is not safe")
    files = manifest.get("files")
    if not isinstance(files, list):
        raise TransferRefused(f"refused manifest {source}: 'files' is not a list")
    seen: set[str] = set()
    for index, entry in enumerate(files):
        where = f"refused manifest {source}: files[{index}]"
        if not isinstance(entry, dict):
            raise TransferRefused(f"{where} is not an object")
        path = entry.get("path")
        check_file_name(path, where)
        assert isinstance(path, str)
        if path in seen:
            raise TransferRefused(f"{where}: {path!r} is listed twice")
        seen.add(path)
        size = entry.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise TransferRefused(f"{where}: size {size!r} is not a byte count")
        digest = entry.get("sha256")
        if not isinstance(digest, str) or not SHA256_HEX.fullmatch(digest.lower()):
            raise TransferRefused(f"{where}: sha256 {digest!r} is not 64 hex digits")
        entry["sha256"] = digest.lower()
    return manifest


def check_file_name(path: Any, where: str) -> None:
    """Refuse a manifest file path that is not a plain relative path inside the folder:
    ``/``-separated parts (at most MAX_PATH_PARTS), none empty, hidden (``.``, ``..``,
    ``.name``), with ``\\``, NUL or control characters, or longer than 255; the whole at
    most 1024 characters; not a name the transfer reserves."""
    if not isinstance(path, str) or not path:
        raise TransferRefused(f"{where}: path {path!r} is not a file name")
    if any(ord(c) < 32 or c == "\x7f" for c in path):
        raise TransferRefused(f"{where}: path {path!r} holds control characters or NUL")
    parts = path.split("/")
    if (
        len(path) > 1024
        or len(parts) > MAX_PATH_PARTS
        or any(
            not part or part.startswith(".") or "\\" in part or len(part) > 255 for part in parts
        )
    ):
        raise TransferRefused(
            f"{where}: path {path!r} is not a plain relative path (no leading '/', no empty, "
            "'..' or hidden parts, no '\\')"
        )
    if path == MANIFEST_NAME or path.endswith(PART_SUFFIX):
        raise TransferRefused(f"{where}: path {path!r} is a name the transfer reserves")


def verify_file(folder: Path, entry: dict[str, Any]) -> None:
    """Check one manifest entry against the folder.

    Raises TransferFailed when the file is missing, TransferRefused when it is not a regular
    file (a symlink, a device), ChecksumMismatch when its size or sha256 differ.
    """
    path = folder / entry["path"]
    for parent in list(PurePosixPath(entry["path"]).parents)[:-1]:
        if (folder / parent).is_symlink():
            raise TransferRefused(f"refused {path}: its folder {parent} is a symbolic link")
    try:
        mode = path.lstat()
    except FileNotFoundError as error:
        raise TransferFailed(f"{path}: listed in the manifest but missing") from error
    if not stat.S_ISREG(mode.st_mode):
        raise TransferRefused(f"refused {path}: not a regular file (symlink or special file)")
    if mode.st_size != entry["size"]:
        raise ChecksumMismatch(f"{path}: {mode.st_size} bytes, the manifest says {entry['size']}")
    digest = sha256_of(path)
    if digest != entry["sha256"]:
        raise ChecksumMismatch(f"{path}: sha256 {digest}, the manifest says {entry['sha256']}")


def file_matches(folder: Path, entry: dict[str, Any]) -> bool:
    """Whether the folder already holds this entry's file, as a regular file with its size
    and sha256 (reads the whole file only when the size matches)."""
    return file_holds(folder / entry["path"], entry["size"], entry["sha256"])


def file_holds(path: Path, size: int | None, sha256: str) -> bool:
    """Whether ``path`` is a regular file (not a symlink) of ``size`` bytes (any, when
    None) and hex ``sha256``; reads the whole file only when the size matches."""
    try:
        mode = path.lstat()
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(mode.st_mode) or (size is not None and mode.st_size != size):
        return False
    return sha256_of(path) == sha256


def read_local_manifest(folder: Path) -> dict[str, Any]:
    """Read and validate ``folder/manifest.json``; TransferFailed when it is missing."""
    path = folder / MANIFEST_NAME
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError as error:
        raise TransferFailed(f"{folder}: no {MANIFEST_NAME} (the batch is not complete)") from error
    return parse_manifest(data, str(path))
