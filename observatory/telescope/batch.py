"""A file batch being written: its folder, FITS files, ``manifest.json`` and SQL rows.

The folder is ``settings.batches_dir / <night>-<request>-<work order pk>``, the night
being that of the observatory's clock (a simulated night's date on a simulated night).
Each frame is
written as FITS and recorded at once as an ``exposures`` row, so an interruption leaves
on record what was taken. :meth:`BatchWriter.finish` writes the manifest last and
atomically, and closes the ``file_batches`` row as ``complete`` or ``failed``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from numpy.typing import NDArray
from sqlalchemy import func, select

from observatory.clock import night_of, utc_now
from observatory.db.models import Exposure, FileBatch, FileBatchState
from observatory.db.retry import retry_unavailable
from observatory.db.session import session_scope
from observatory.settings import Settings
from observatory.telescope.fits import FrameMetadata, frame_filename, frame_header, write_frame

MANIFEST_NAME = "manifest.json"


def batch_name(request: str, work_order_pk: int, moment: dt.datetime, longitude_deg: float) -> str:
    """``20261123-observation-42``."""
    return f"{night_of(moment, longitude_deg):%Y%m%d}-{request}-{work_order_pk}"


@dataclass(frozen=True)
class WrittenFrame:
    """One file of the batch, as the manifest lists it."""

    path: str
    size: int
    sha256: str
    exposure_pk: int

    def manifest_entry(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}


class BatchWriter:
    """Writes one telescope order's batch. Not thread-safe.

    A redelivered order (its worker died) writes into the same batch, whatever the clock
    reads by then: the files already there stay, new ones continue the sequence numbers.
    """

    def __init__(self, settings: Settings, work_order_pk: int, request: str) -> None:
        self.settings = settings
        self.work_order_pk = work_order_pk
        self.frames: list[WrittenFrame] = []
        retry_unavailable(f"opening the batch of work order {work_order_pk}",
                          partial(self._open, request))  # fmt: skip

    def _open(self, request: str) -> None:
        now = dt.datetime.now(dt.UTC)
        self.name = self._earlier_name() or batch_name(
            request, self.work_order_pk, utc_now(self.settings), self.settings.site.longitude_deg
        )
        self.folder = (self.settings.batches_dir / self.name).resolve()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.batch_pk, self.created_at = self._open_row(now)
        self._seq = self._last_seq()

    @property
    def frame_count(self) -> int:
        return len(self.frames)

    def add(self, data: NDArray[np.uint16], meta: FrameMetadata) -> WrittenFrame:
        """Write one frame as FITS and record its ``exposures`` row."""
        self._seq += 1
        relative = frame_filename(meta.imagetyp, meta.filter, meta.exposure_s, self._seq)
        path = self.folder / relative
        header = frame_header(meta)
        sha256 = write_frame(path, data, header)
        # The frame is taken: its row waits out a database outage rather than lose it.
        written = retry_unavailable(
            f"recording {relative} of batch {self.name}",
            partial(self._record_frame, data, meta, relative, header, sha256),
        )
        self.frames.append(written)
        return written

    def _record_frame(
        self,
        data: NDArray[np.uint16],
        meta: FrameMetadata,
        relative: str,
        header: fits.Header,
        sha256: str,
    ) -> WrittenFrame:
        rows, columns = data.shape
        size = (self.folder / relative).stat().st_size
        with session_scope(self.settings.sqlalchemy_url) as session:
            # An earlier try whose commit went through, its answer lost, left the row.
            earlier = session.scalar(
                select(Exposure.pk).where(
                    Exposure.file_batch_pk == self.batch_pk,
                    Exposure.path == relative,
                    Exposure.checksum == sha256,
                )
            )
            if earlier is not None:
                return WrittenFrame(relative, size, sha256, earlier)
            row = Exposure(
                file_batch_pk=self.batch_pk,
                path=relative,
                imagetyp=meta.imagetyp.value,
                exptime_s=meta.exposure_s,
                filter=meta.filter,
                date_obs=meta.date_obs,
                ra_deg=meta.ra_deg,
                dec_deg=meta.dec_deg,
                object=meta.object,
                ccd_temp_c=meta.ccd_temp_c,
                binning=meta.binning,
                naxis1=columns,
                naxis2=rows,
                checksum=sha256,
                header={key: header[key] for key in header},
            )
            session.add(row)
            session.flush()
            return WrittenFrame(relative, size, sha256, row.pk)

    def finish(
        self, interrupted: str | None = None, cancelled: str | None = None
    ) -> dict[str, Any]:
        """Write the manifest (``complete`` unless ``interrupted`` gives a reason) and close
        the ``file_batches`` row; returns the manifest. A ``cancelled`` batch (the reason)
        is complete: it holds the frames taken before the cancel, and only those."""
        manifest: dict[str, Any] = {
            "batch": self.name,
            "created_at": self.created_at.isoformat(),
            "complete": interrupted is None,
            "files": [
                frame.manifest_entry()
                for frame in retry_unavailable(f"listing batch {self.name}", self._all_frames)
            ],
        }
        if interrupted is not None:
            manifest["interrupted"] = interrupted
        if cancelled is not None:
            manifest["cancelled"] = cancelled
        write_json_atomically(self.folder / MANIFEST_NAME, manifest)
        state = FileBatchState.FAILED if interrupted else FileBatchState.COMPLETE
        retry_unavailable(f"closing batch {self.name}", partial(self._close_row, state, manifest))
        return manifest

    def _close_row(self, state: FileBatchState, manifest: dict[str, Any]) -> None:
        with session_scope(self.settings.sqlalchemy_url) as session:
            row = session.get_one(FileBatch, self.batch_pk)
            row.state = state
            row.completed_at = dt.datetime.now(dt.UTC)
            row.manifest = manifest

    def _earlier_name(self) -> str | None:
        # The batch an earlier attempt of this order opened, if any.
        with session_scope(self.settings.sqlalchemy_url) as session:
            return session.scalar(
                select(FileBatch.name)
                .where(FileBatch.work_order_pk == self.work_order_pk)
                .order_by(FileBatch.pk)
                .limit(1)
            )

    def _open_row(self, now: dt.datetime) -> tuple[int, dt.datetime]:
        with session_scope(self.settings.sqlalchemy_url) as session:
            row = session.scalar(select(FileBatch).where(FileBatch.name == self.name))
            if row is None:
                row = FileBatch(
                    name=self.name,
                    path=str(self.folder),
                    url=None,
                    work_order_pk=self.work_order_pk,
                    state=FileBatchState.OPEN,
                    created_at=now,
                )
                session.add(row)
                session.flush()
            elif row.work_order_pk != self.work_order_pk:
                owner = row.work_order_pk
                raise FileExistsError(f"batch {self.name} belongs to work order {owner}")
            row.state = FileBatchState.OPEN
            row.completed_at = None
            return row.pk, row.created_at

    def _last_seq(self) -> int:
        with session_scope(self.settings.sqlalchemy_url) as session:
            count = session.scalar(
                select(func.count())
                .select_from(Exposure)
                .where(Exposure.file_batch_pk == self.batch_pk)
            )
        return int(count or 0)

    def _all_frames(self) -> list[WrittenFrame]:
        # Frames of an earlier attempt of the same order belong to the batch as well.
        with session_scope(self.settings.sqlalchemy_url) as session:
            query = select(Exposure).where(Exposure.file_batch_pk == self.batch_pk)
            rows = session.scalars(query.order_by(Exposure.pk)).all()
            return [
                WrittenFrame(r.path, (self.folder / r.path).stat().st_size, r.checksum or "", r.pk)
                for r in rows
            ]


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
