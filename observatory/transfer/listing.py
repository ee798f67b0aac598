"""A batch folder as capture programs leave it (NINA, MaxIm DL, TheSkyX, SGP, ACP, Ekos):
FITS files in any subfolders (``zero/``, ``flat/``, ``science/M31/``...), with logs, text,
JPEG previews and other formats beside them. Listing it says which files are frames and
which are ignored; a manifest (size, sha256) is computed for a folder that has none.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from observatory.errors import TransferFailed, TransferRefused
from observatory.hashing import sha256_of
from observatory.transfer.manifest import MANIFEST_NAME, check_file_name

# .fits, .fit, .fts in any case, plain, tile-compressed (fpack .fz) or gzipped.
FRAME_NAME = re.compile(r"\.(fits|fit|fts)(\.fz|\.gz)?$", re.IGNORECASE)
# Files the transfer itself leaves in a repository folder; neither frames nor ignored.
OWN_FILES = (MANIFEST_NAME, ".transfer.lock")


@dataclass(frozen=True)
class Listing:
    """Paths relative to the folder, ``/``-separated and sorted: the frames, and every
    other file (not FITS, hidden, a link or special file, or a name no manifest takes)."""

    frames: tuple[str, ...]
    ignored: tuple[str, ...]


def list_folder(folder: Path) -> Listing:
    """Every file under ``folder``, at any depth, as frames or ignored. Symbolic links
    are never followed (a linked folder or file is listed as ignored). Reads no file.
    Raises TransferFailed when a folder cannot be read (its frames would go missing)."""
    frames: list[str] = []
    ignored: list[str] = []
    for top, dirs, files in os.walk(folder, onerror=_unreadable, followlinks=False):
        relative_top = PurePosixPath(Path(top).relative_to(folder).as_posix())
        for name in sorted(dirs):
            if (Path(top) / name).is_symlink():
                ignored.append(str(relative_top / name))
        for name in files:
            relative = str(relative_top / name)
            if relative in OWN_FILES:
                continue
            (frames if _is_frame(Path(top) / name, relative) else ignored).append(relative)
    return Listing(tuple(sorted(frames)), tuple(sorted(ignored)))


def compute_manifest(folder: Path, name: str, listing: Listing) -> dict[str, Any]:
    """The manifest of ``folder`` as it is now: each frame of ``listing`` with its size
    and sha256 (every frame is read once), marked ``computed``."""
    entries = []
    for relative in listing.frames:
        path = folder / relative
        entries.append({"path": relative, "size": path.lstat().st_size, "sha256": sha256_of(path)})
    return {
        "batch": name,
        "complete": True,
        "computed": True,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "files": entries,
    }


def frame_stem(relative: str) -> str:
    """A frame's path without its FITS and compression suffixes, subfolders kept:
    ``science/M31/light_001.fits.fz`` -> ``science/M31/light_001`` (so that frames of the
    same name in two subfolders never share a product name)."""
    return FRAME_NAME.sub("", relative)


def shared_stems(frames: Iterable[str]) -> dict[str, str]:
    """The frames whose stem (``frame_stem``) an earlier frame of ``frames`` (in sorted
    order) already has, each with that frame: ``{"x.fits.fz": "x.fits"}`` for a frame
    fpacked without ``-D`` (both kept). Their products would share one name, and the
    one exposure would count twice in a master; the later one is left out."""
    first: dict[str, str] = {}
    shared: dict[str, str] = {}
    for relative in sorted(frames):
        earlier = first.setdefault(frame_stem(relative), relative)
        if earlier != relative:
            shared[relative] = earlier
    return shared


def _unreadable(error: OSError) -> None:
    raise TransferFailed(f"cannot list {error.filename}: {error.strerror}") from error


def _is_frame(path: Path, relative: str) -> bool:
    if not FRAME_NAME.search(relative):
        return False
    try:
        check_file_name(relative, "listing")
    except TransferRefused:
        return False  # hidden, control characters, reserved: not a frame we can name
    return stat.S_ISREG(path.lstat().st_mode)
