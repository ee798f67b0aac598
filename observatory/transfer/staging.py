"""Staging folders in the repository: a batch folder appears whole or not at all.

An extraction (or anything else that builds a batch folder) writes into a hidden folder
``<repository>/.<name>.extract-*`` that replaces ``<repository>/<name>`` only when the
work finished; leftovers of a process that died are swept by the next fetch of the batch.
"""

from __future__ import annotations

import fcntl
import glob
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from observatory.errors import TransferRefused
from observatory.settings import Settings

# Staging folders and downloads of a batch untouched this long were left by a process that
# died (a worker killed mid-extraction); the next fetch of that batch removes them.
LEFTOVER_AGE_S = 3600.0


@contextmanager
def staged(settings: Settings, url: str, name: str) -> Iterator[Path]:
    """A hidden staging folder in the repository that becomes ``<repository>/<name>``
    (replacing an earlier copy) when the block ends normally, and is removed when it
    raises."""
    repository = settings.repository_dir
    repository.mkdir(parents=True, exist_ok=True)
    sweep_leftovers(repository, name)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.extract-", dir=repository))
    try:
        yield staging
    except BaseException:
        # The error being raised is what the caller must see; a folder that would not go
        # away is swept by a later fetch (sweep_leftovers).
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        _swap_in(url, staging, repository / name)
    finally:
        if staging.exists():  # the swap was refused
            shutil.rmtree(staging)


def sweep_leftovers(repository: Path, name: str, older_than_s: float = LEFTOVER_AGE_S) -> list[str]:
    """Remove the staging folders, earlier copies and archive downloads of batch ``name``
    not modified for ``older_than_s`` seconds; returns their names. Recent ones may belong
    to a fetch running now and are kept."""
    cutoff = time.time() - older_than_s
    removed = []
    for kind in ("extract", "old", "archive"):
        for path in repository.glob(f".{glob.escape(name)}.{kind}-*"):
            if path.lstat().st_mtime < cutoff:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
                removed.append(path.name)
    return removed


def _swap_in(url: str, staging: Path, final: Path) -> None:
    """Make ``staging`` the folder ``final``, an earlier copy removed; fetches of the same
    batch on this host take turns (a lock file beside it)."""
    with open(final.with_name(f".{final.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if final.is_symlink():
            raise TransferRefused(f"refused {url}: {final} is a symbolic link")
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
            final.rename(old / final.name)
        staging.rename(final)
    if old is not None:
        # The new copy is in place; an old one that would not go away is swept later.
        shutil.rmtree(old, ignore_errors=True)
