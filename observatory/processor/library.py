"""Choosing the master frame that calibrates a group of exposures.

The batch's own master of the exact group comes first; otherwise the library's (masters
of other batches) of the same ``group_key`` (and detector), not flagged bad, nearest in
time. A light
whose exposure time has no dark of its own is calibrated with a scaled dark of the same
binning (the batch's, else the longest in the library). Nothing found raises
MasterFrameMissing naming the group: a frame is never passed on uncalibrated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from observatory.db.models import MasterFrame, MasterKind, master_group_key
from observatory.errors import MasterFrameMissing


@dataclass(frozen=True)
class Wanted:
    """What a frame needs a master for: its batch, binning, shape, time and filter."""

    batch_pk: int
    binning: int
    naxis1: int
    naxis2: int
    date_obs: dt.datetime
    filter: str | None = None
    exptime_s: float | None = None
    # The detector of a multi-extension camera (empty: a single detector).
    detector: str = ""

    def describe(self) -> str:
        parts = [f"binning {self.binning}", f"{self.naxis1}x{self.naxis2} px"]
        if self.filter:
            parts.insert(0, f"filter {self.filter}")
        if self.detector:
            parts.append(f"detector {self.detector}")
        return ", ".join(parts)


def _candidates(session: Session, wanted: Wanted, keys: list[str]) -> list[MasterFrame]:
    return list(
        session.scalars(
            select(MasterFrame).where(
                MasterFrame.group_key.in_(keys),
                MasterFrame.detector == wanted.detector,
                MasterFrame.is_bad.is_(False),
                MasterFrame.naxis1 == wanted.naxis1,
                MasterFrame.naxis2 == wanted.naxis2,
            )
        )
    )


def _best(frames: list[MasterFrame], wanted: Wanted) -> MasterFrame | None:
    def rank(frame: MasterFrame) -> tuple[bool, float]:
        distance_s = abs((frame.date_obs - wanted.date_obs).total_seconds())
        return (frame.file_batch_pk != wanted.batch_pk, distance_s)

    return min(frames, key=rank, default=None)


def choose_bias(session: Session, wanted: Wanted) -> MasterFrame:
    key = master_group_key(MasterKind.BIAS, None, 0.0, wanted.binning, wanted.detector)
    found = _best(_candidates(session, wanted, [key]), wanted)
    if found is None:
        raise MasterFrameMissing(f"no master bias for {wanted.describe()}")
    return found


def choose_flat(session: Session, wanted: Wanted) -> MasterFrame:
    key = master_group_key(MasterKind.FLAT, wanted.filter, None, wanted.binning, wanted.detector)
    found = _best(_candidates(session, wanted, [key]), wanted)
    if found is None:
        raise MasterFrameMissing(f"no master flat for {wanted.describe()}")
    return found


def choose_dark(session: Session, wanted: Wanted) -> MasterFrame:
    """A dark of the wanted exposure (filter-independent or of the wanted filter), else
    the best dark of the binning to scale: the batch's, else the longest exposure."""
    filters = sorted({None, wanted.filter}, key=lambda f: f or "")
    keys = [
        master_group_key(MasterKind.DARK, f, wanted.exptime_s, wanted.binning, wanted.detector)
        for f in filters
    ]
    found = _best(_candidates(session, wanted, keys), wanted)
    if found is not None:
        return found
    scalable = [
        frame
        for frame in session.scalars(
            select(MasterFrame).where(
                MasterFrame.kind == MasterKind.DARK,
                MasterFrame.binning == wanted.binning,
                MasterFrame.detector == wanted.detector,
                MasterFrame.is_bad.is_(False),
                MasterFrame.naxis1 == wanted.naxis1,
                MasterFrame.naxis2 == wanted.naxis2,
            )
        )
        if frame.filter in filters and (frame.exptime_s or 0) > 0
    ]
    if not scalable:
        raise MasterFrameMissing(
            f"no master dark for {wanted.exptime_s:g} s exposures, {wanted.describe()}"
        )

    def rank(frame: MasterFrame) -> tuple[bool, float, float]:
        distance_s = abs((frame.date_obs - wanted.date_obs).total_seconds())
        return (frame.file_batch_pk != wanted.batch_pk, -(frame.exptime_s or 0), distance_s)

    return min(scalable, key=rank)
