"""Size-bounded log files of the stack's children: copy, then truncate in place.

A child of ``observatory up`` writes its stdout and stderr into ``data_dir/logs/NAME.log``
through a descriptor it holds for its whole life, opened with O_APPEND. A renamed file
would go on receiving its lines, so a full log is copied to ``NAME.log.1`` (older
generations shifted to ``.2`` ... ``.keep``, the oldest dropped) and then truncated to
nothing: the child's next write, appended, lands at the start of the emptied file, with no
hole before it. Lines written between the end of the copy and the truncation (a few
microseconds) are lost, as with logrotate's ``copytruncate``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def generation(path: Path, number: int) -> Path:
    """``NAME.log.<number>``: the ``number``-th older generation of the log ``path``."""
    return path.with_name(f"{path.name}.{number}")


def rotate_if_full(path: Path, max_bytes: int, keep: int) -> bool:
    """Rotate ``path`` when it holds ``max_bytes`` or more; return whether it did.

    ``keep`` older generations are kept (at least one). A missing file is not rotated.
    Raises OSError when the folder cannot be written (the caller logs it and carries on).
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return False
    if size < max_bytes:
        return False
    generation(path, keep).unlink(missing_ok=True)
    for number in range(keep - 1, 0, -1):
        older = generation(path, number)
        if older.exists():
            older.rename(generation(path, number + 1))
    copy = generation(path, 1)
    with open(path, "rb") as source, open(copy, "wb") as target:
        # Read to the end, so lines appended during the copy are taken too.
        shutil.copyfileobj(source, target, 1024 * 1024)
        os.truncate(path, 0)
    return True
