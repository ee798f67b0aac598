"""FITS files written whole or not at all.

A frame or product is written with its checksums to a temporary file beside its final
name, synced, then given that name: a crash or a full disk never leaves part of a file
under the final name, and the temporary file is removed on any failure.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

from astropy.io import fits


def write_atomically(
    path: Path, hdu: fits.PrimaryHDU, *, overwrite: bool, durable: bool = True
) -> Path:
    """Write ``hdu`` (with CHECKSUM and DATASUM) to ``path`` and return ``path``.

    With ``overwrite`` False an existing file is never replaced (``FileExistsError``).
    ``durable`` syncs the file and its folder to disk before returning; False leaves
    that to the system (for a scratch copy read back at once, made again after a crash).
    A write cut short by a full disk raises ``OSError`` (ENOSPC) naming the file and the
    space left."""
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            _write(hdu, handle, path)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        if overwrite:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)  # fails if the name exists, atomically
            os.unlink(temporary)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    if durable:
        _sync_folder(path.parent)
    return path


def _write(hdu: fits.PrimaryHDU, handle: object, path: Path) -> None:
    try:
        hdu.writeto(handle, checksum=True)
    except (OSError, AttributeError) as error:
        # astropy (8.0) meets a short write to an open file with an AttributeError of its
        # own while describing it; the OSError it hides is what happened.
        hidden = error if isinstance(error, OSError) else error.__context__
        if not isinstance(hidden, OSError):
            raise
        free = shutil.disk_usage(path.parent).free
        raise OSError(
            hidden.errno or errno.ENOSPC,
            f"writing {path} stopped short ({hidden}); its disk has {free:,} bytes free",
        ) from hidden


def _sync_folder(folder: Path) -> None:
    """Make the new directory entry durable (where the filesystem can sync a folder)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    except OSError as error:
        # Some filesystems cannot sync a directory; the rename itself has happened.
        if error.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
    finally:
        os.close(descriptor)
