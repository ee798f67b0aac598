"""Free space in the data folders: what a frame or a batch's products may take.

A night keeps hundreds of MiB of frames and products, and nobody may be watching when the
disk fills. A camera frame is not taken, a batch not fetched and no product written when
it would leave its folder with less than ``settings.min_free_mib`` free: the step fails
at once with one line naming the folder, instead of part-way through a FITS file. The
reconciler tells the admins when a data folder falls below that reserve
(:class:`FreeSpaceWatch`), once, and again only after it has recovered.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from observatory.errors import StorageFull
from observatory.notify import NotificationFailed
from observatory.settings import Settings

log = logging.getLogger(__name__)

MIB = 1024**2
FITS_BLOCK = 2880


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged writer may still use on the file system of ``path`` (or of
    its nearest existing parent: a folder not made yet is where it will be)."""
    stats = os.statvfs(_nearest_existing(path))
    return stats.f_bavail * stats.f_frsize


def require_free(settings: Settings, folder: Path, needed_bytes: int, what: str) -> None:
    """Raise :class:`StorageFull` when writing ``needed_bytes`` into ``folder`` would leave
    it less than ``settings.min_free_mib`` free; ``what`` names the write in the message."""
    free = free_bytes(folder)
    if free - needed_bytes >= settings.min_free_mib * MIB:
        return
    reserve = f"min_free_mib ({settings.min_free_mib:g} MiB)"
    if needed_bytes:
        raise StorageFull(f"{what} needs {_mib(needed_bytes)} and {folder} has {_mib(free)}"
                          f" free: less than {reserve} would be left")  # fmt: skip
    raise StorageFull(f"{what}: {folder} has {_mib(free)} free, less than {reserve}")


def frame_bytes(width_px: int, height_px: int, binning: int) -> int:
    """Bytes of one uint16 FITS frame of the binned sensor, header blocks included."""
    data = math.ceil(width_px / binning) * math.ceil(height_px / binning) * 2
    return (math.ceil(data / FITS_BLOCK) + 2) * FITS_BLOCK


def data_folders(settings: Settings) -> list[Path]:
    """The folders the observatory writes frames and products into, one per file system."""
    folders = [settings.data_dir, settings.batches_dir, settings.repository_dir,
               settings.products_dir]  # fmt: skip
    seen: set[int] = set()
    distinct = []
    for folder in folders:
        device = _nearest_existing(folder).stat().st_dev
        if device not in seen:
            seen.add(device)
            distinct.append(folder)
    return distinct


class FreeSpaceWatch:
    """Tells ``alert(subject, body)`` when a data folder falls below the reserve, once per
    fall: a folder that recovers above it is told of again at its next fall. Looks at
    most every ``every_s`` seconds."""

    def __init__(
        self, settings: Settings, alert: Callable[[str, str], None], every_s: float = 60.0
    ) -> None:
        self.settings = settings
        self.alert = alert
        self.every_s = every_s
        self.low: set[Path] = set()
        self._next_s = -math.inf

    def poll(self) -> list[Path] | None:
        """:meth:`check` when ``every_s`` has passed since the last look, else None. An
        alert that cannot be sent is logged, and sent again at the next look: the
        caller's own work goes on."""
        now_s = time.monotonic()
        if now_s < self._next_s:
            return None
        self._next_s = now_s + self.every_s
        try:
            return self.check()
        except NotificationFailed:
            log.exception("the admins could not be told of low disk space; told again later")
            return None

    def check(self, folders: Iterable[Path] | None = None) -> list[Path]:
        """Look at every data folder now; returns those below the reserve. An alert that
        fails raises, and its folder is told of again at the next check."""
        reserve = self.settings.min_free_mib * MIB
        low = []
        for folder in data_folders(self.settings) if folders is None else folders:
            free = free_bytes(folder)
            if free >= reserve:
                self.low.discard(folder)
                continue
            low.append(folder)
            if folder in self.low:
                continue
            line = (f"{folder} has {_mib(free)} free, below min_free_mib "
                    f"({self.settings.min_free_mib:g} MiB)")  # fmt: skip
            log.error("%s: no frame is taken and no batch calibrated there until space is"
                      " made", line)  # fmt: skip
            self.alert(
                f"low disk space: {line}",
                f"{line}.\n\nNo camera frame is taken, no batch fetched and no product"
                " written there while it stays below the reserve: those steps fail at once,"
                " naming the folder. Make space (move or delete old batches and products) to"
                " go on.\n",
            )
            self.low.add(folder)
        return low


def _nearest_existing(path: Path) -> Path:
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _mib(count: int) -> str:
    return f"{count / MIB:,.2f} MiB"
