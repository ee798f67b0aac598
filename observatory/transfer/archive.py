"""Archives (zip, tar, tar.gz) of a batch, told by their content and extracted safely.

Every member is checked before a byte of it is written: a name that leaves the folder
(``..``, an absolute or Windows path) or a link, device or FIFO refuses the whole archive;
hidden members (``.DS_Store``, ``__MACOSX/._x``) are skipped. The total size, each
member's size, the member count and the expansion ratio are bounded by the settings
(``processor.max_batch_bytes``, ``max_file_bytes``, ``max_archive_members``,
``max_archive_ratio``) as the bytes are written, whatever the archive declares. The
extraction goes into a staging folder (:mod:`observatory.transfer.staging`) that only
becomes the batch folder when everything passed: a refused archive leaves nothing behind.
"""

from __future__ import annotations

import re
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import IO

from observatory.errors import TransferFailed, TransferRefused
from observatory.settings import Settings
from observatory.transfer.manifest import CHUNK_BYTES, MANIFEST_NAME, check_file_name

# Below this many bytes written, no ratio is a bomb (FITS headers alone compress ~100x).
RATIO_FLOOR_BYTES = 1024 * 1024
S_IFMT, S_IFREG, S_IFDIR = 0o170000, 0o100000, 0o040000
WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


def archive_kind(path: Path) -> str | None:
    """``zip``, ``tar`` or ``gzip`` (a tar.gz) from the file's first bytes, else None."""
    with open(path, "rb") as file:
        return archive_kind_of(file.read(512))


def archive_kind_of(head: bytes) -> str | None:
    """The archive kind of a file that starts with ``head`` (at least 262 bytes for tar)."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head[257:262] == b"ustar":
        return "tar"
    return None


def extract_into(settings: Settings, url: str, archive: Path, folder: Path) -> int:
    """Extract ``archive`` into the empty ``folder``; returns the bytes written.

    Raises TransferRefused naming the member and the rule it breaks, TransferFailed when
    the archive cannot be read (truncated, corrupt, encrypted, not zip or tar).
    """
    kind = archive_kind(archive)
    if kind is None:
        raise TransferFailed(f"{url}: not a zip, tar or tar.gz archive")
    bounds = _Bounds(settings, url, archive.stat().st_size)
    try:
        if kind == "zip":
            _extract_zip(archive, folder, bounds)
        else:
            _extract_tar(archive, folder, bounds)
    except (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError, RuntimeError) as error:
        # RuntimeError: an encrypted zip member.
        raise TransferFailed(f"{url}: unreadable {kind} archive ({error})") from error
    except OSError as error:
        # A member whose folder is a file, a full disk: the extraction cannot complete.
        raise TransferFailed(f"{url}: cannot extract ({type(error).__name__}: {error})") from error
    return bounds.written


class _Bounds:
    """The running totals of one extraction against the settings' limits."""

    def __init__(self, settings: Settings, url: str, archive_bytes: int) -> None:
        self.url = url
        self.max_total = settings.processor.max_batch_bytes
        self.max_file = settings.processor.max_file_bytes
        self.max_members = settings.processor.max_archive_members
        self.max_ratio = settings.processor.max_archive_ratio
        self.archive_bytes = max(archive_bytes, 1)
        self.members = 0
        self.written = 0
        self.seen: set[str] = set()

    def member(self, name: str) -> str | None:
        """The member's path in the folder, None to skip it; refuses unsafe names."""
        self.members += 1
        if self.members > self.max_members:
            raise self.refuse(f"more than {self.max_members} members (max_archive_members)")
        relative = member_path(name, self.url)
        if relative is not None:
            if relative in self.seen:
                raise self.refuse(f"member {name!r} is listed twice")
            self.seen.add(relative)
        return relative

    def declared(self, name: str, size: int) -> None:
        if size > self.max_file:
            raise self.refuse(f"member {name!r} declares {size} bytes, above max_file_bytes")

    def wrote(self, name: str, count: int, member_bytes: int) -> None:
        self.written += count
        if member_bytes > self.max_file:
            raise self.refuse(f"member {name!r} is larger than max_file_bytes ({self.max_file})")
        if self.written > self.max_total:
            raise self.refuse(f"expands past max_batch_bytes ({self.max_total})")
        ratio = self.written / self.archive_bytes
        if self.written > RATIO_FLOOR_BYTES and ratio > self.max_ratio:
            raise self.refuse(
                f"expands more than {self.max_ratio:g} times its size (max_archive_ratio): "
                "a decompression bomb"
            )

    def refuse(self, reason: str) -> TransferRefused:
        return TransferRefused(f"refused archive {self.url}: {reason}")


def member_path(name: str, url: str) -> str | None:
    """The relative path a member may take, None for a hidden member or the root entry.

    Raises TransferRefused for a name that would leave the folder or cannot be a path."""
    if any(ord(c) < 32 or c == "\x7f" for c in name):
        raise TransferRefused(f"refused archive {url}: member {name!r} holds control characters")
    if name.startswith("/") or "\\" in name or WINDOWS_DRIVE.match(name):
        raise TransferRefused(
            f"refused archive {url}: member {name!r} is an absolute or Windows path"
        )
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise TransferRefused(f"refused archive {url}: member {name!r} leaves the folder ('..')")
    if not parts or any(part.startswith(".") for part in parts):
        return None
    relative = "/".join(parts)
    if relative != MANIFEST_NAME:
        check_file_name(relative, f"refused archive {url}: member")
    return relative


def _extract_zip(archive: Path, folder: Path, bounds: _Bounds) -> None:
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            relative = bounds.member(info.filename)
            mode = info.external_attr >> 16
            kind = mode & S_IFMT
            if kind not in (0, S_IFREG, S_IFDIR):
                raise bounds.refuse(f"member {info.filename!r} is a link or special file")
            if relative is None:
                continue
            if info.is_dir():
                _directory(folder, relative)
                continue
            bounds.declared(info.filename, info.file_size)
            with zipped.open(info) as source:
                _write_member(source, folder, relative, info.filename, bounds)


def _extract_tar(archive: Path, folder: Path, bounds: _Bounds) -> None:
    with tarfile.open(archive, mode="r:*") as tarred:
        for info in tarred:
            relative = bounds.member(info.name)
            if not (info.isreg() or info.isdir()):
                raise bounds.refuse(
                    f"member {info.name!r} is a link, device or FIFO (only files and folders)"
                )
            if relative is None:
                continue
            if info.isdir():
                _directory(folder, relative)
                continue
            bounds.declared(info.name, info.size)
            source = tarred.extractfile(info)
            if source is None:
                raise bounds.refuse(f"member {info.name!r} has no data")
            with source:
                _write_member(source, folder, relative, info.name, bounds)


def _directory(folder: Path, relative: str) -> None:
    (folder / relative).mkdir(parents=True, exist_ok=True)


def _write_member(
    source: IO[bytes], folder: Path, relative: str, name: str, bounds: _Bounds
) -> None:
    dest = folder / relative
    dest.parent.mkdir(parents=True, exist_ok=True)
    member_bytes = 0
    # "x": never replace or follow anything already there.
    with open(dest, "xb") as out:
        while chunk := source.read(CHUNK_BYTES):
            member_bytes += len(chunk)
            bounds.wrote(name, len(chunk), member_bytes)
            out.write(chunk)
