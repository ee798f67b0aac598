"""Choosing the master frame that calibrates a group of exposures.

The batch's own master of the exact group comes first; otherwise the library's (masters
of other batches) of the same ``group_key`` (and detector), not flagged bad, nearest in
time. A master is of the frame's camera setup (gain and offset settings, subframe
origin; :mod:`observatory.processor.setups`) or is no master at all, and the error then
names the setups that have masters. A dark is filter-independent (the shutter is closed,
whatever slot the wheel is in, and NINA, SGP and MaxIm write that slot on darks): darks
are stacked per filter where their headers name one, and a frame takes a master dark of
its own filter first, then one of no filter, then one of any other filter; an instrument
whose darks truly differ by filter is not told apart from that. Exposure times are the
same within ``calibration.dark.exposure_tolerance_s`` (capture programs write the
measured shutter time, 60.012 s for a 60 s dark). A light whose exposure time has no
dark of its own is calibrated with a scaled dark of the same binning (the batch's, else
the longest in the library). Nothing found raises MasterFrameMissing naming the group: a
frame is never passed on uncalibrated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from observatory.calibration.dark import same_exposure
from observatory.db.models import BIAS_INCLUDED_STAT, MasterFrame, MasterKind, master_group_key
from observatory.errors import MasterFrameMissing


@dataclass(frozen=True)
class Wanted:
    """What a frame needs a master for: its batch, binning, shape, time, filter and
    camera setup."""

    batch_pk: int
    binning: int
    naxis1: int
    naxis2: int
    date_obs: dt.datetime
    filter: str | None = None
    exptime_s: float | None = None
    # The detector of a multi-extension camera (empty: a single detector).
    detector: str = ""
    # Gain, offset and subframe origin as the headers write them (empty: none written).
    camera_setup: str = ""

    def describe(self, with_filter: bool = True) -> str:
        """The group in words; without the filter for a dark, which does not depend on it."""
        parts = [f"binning {self.binning}", f"{self.naxis1}x{self.naxis2} px"]
        if self.filter and with_filter:
            parts.insert(0, f"filter {self.filter}")
        if self.detector:
            parts.append(f"detector {self.detector}")
        if self.camera_setup:
            parts.append(self.camera_setup)
        return ", ".join(parts)


def _missing(session: Session, wanted: Wanted, kind: MasterKind, what: str) -> MasterFrameMissing:
    """``no master <what>``, and the camera setups that have masters of the group (of
    the wanted filter for a flat) when the frame's has none."""
    same_filter = (
        MasterFrame.filter.is_(None)
        if wanted.filter is None
        else MasterFrame.filter == wanted.filter
    )
    others = session.scalars(
        select(MasterFrame.camera_setup)
        .distinct()
        .where(
            MasterFrame.kind == kind,
            MasterFrame.camera_setup != wanted.camera_setup,
            MasterFrame.binning == wanted.binning,
            MasterFrame.detector == wanted.detector,
            MasterFrame.is_bad.is_(False),
            MasterFrame.naxis1 == wanted.naxis1,
            MasterFrame.naxis2 == wanted.naxis2,
            *([same_filter] if kind is MasterKind.FLAT else []),
        )
    )
    setups = sorted(setup or "the default setup (no gain, offset or readout mode written)"
                    for setup in others)  # fmt: skip
    exist = f": masters exist for {'; '.join(setups)}" if setups else ""
    return MasterFrameMissing(f"no master {what}{exist}")


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
    key = master_group_key(
        MasterKind.BIAS, None, 0.0, wanted.binning, wanted.detector, wanted.camera_setup
    )
    found = _best(_candidates(session, wanted, [key]), wanted)
    if found is None:
        # A bias does not depend on the filter: the frame's is not named.
        what = f"bias for {wanted.describe(with_filter=False)}"
        raise _missing(session, wanted, MasterKind.BIAS, what)
    return found


def choose_flat(session: Session, wanted: Wanted) -> MasterFrame:
    key = master_group_key(
        MasterKind.FLAT, wanted.filter, None, wanted.binning, wanted.detector, wanted.camera_setup
    )
    found = _best(_candidates(session, wanted, [key]), wanted)
    if found is None:
        raise _missing(session, wanted, MasterKind.FLAT, f"flat for {wanted.describe()}")
    return found


def _darks(session: Session, wanted: Wanted) -> list[MasterFrame]:
    """The good master darks of the wanted binning, size, detector and camera setup, of
    any filter."""
    return list(
        session.scalars(
            select(MasterFrame).where(
                MasterFrame.kind == MasterKind.DARK,
                MasterFrame.binning == wanted.binning,
                MasterFrame.detector == wanted.detector,
                MasterFrame.camera_setup == wanted.camera_setup,
                MasterFrame.is_bad.is_(False),
                MasterFrame.naxis1 == wanted.naxis1,
                MasterFrame.naxis2 == wanted.naxis2,
            )
        )
    )


def choose_dark(session: Session, wanted: Wanted) -> MasterFrame:
    """A dark of the wanted exposure (within ``exposure_tolerance_s``; its small
    difference is scaled exactly, as any other), else the best dark of the binning to
    scale: the batch's, else the longest exposure, and one that keeps the bias level
    (:func:`holds_bias`) only when no other is left. A dark of the wanted filter comes
    first, then one of no filter, then any other (:func:`_filter_rank`)."""
    assert wanted.exptime_s is not None, "a dark is chosen for an exposure time"
    darks = _darks(session, wanted)
    matched = [d for d in darks if same_exposure(d.exptime_s or 0.0, wanted.exptime_s)]
    for preference in range(3):
        found = _best([d for d in matched if _filter_rank(d, wanted) == preference], wanted)
        if found is not None:
            return found
    scalable = [frame for frame in darks if (frame.exptime_s or 0) > 0]
    if not scalable:
        what = f"dark for {wanted.exptime_s:g} s exposures, {wanted.describe(with_filter=False)}"
        raise _missing(session, wanted, MasterKind.DARK, what)

    def rank(frame: MasterFrame) -> tuple[bool, bool, int, float, float]:
        distance_s = abs((frame.date_obs - wanted.date_obs).total_seconds())
        own = frame.file_batch_pk != wanted.batch_pk
        # A dark that keeps the bias level serves its own exposure only (scaling it would
        # scale the bias too): it comes last, to be refused with the reason.
        return (holds_bias(frame), own, _filter_rank(frame, wanted), -(frame.exptime_s or 0),
                distance_s)  # fmt: skip

    return min(scalable, key=rank)


def holds_bias(dark: MasterFrame) -> bool:
    """Whether the master dark was stacked without a master bias and keeps the bias level
    (``BIASINCL``), as its row says (see :func:`observatory.processor.products.store_master`)."""
    return bool(dark.stats.get(BIAS_INCLUDED_STAT, False))


def _filter_rank(dark: MasterFrame, wanted: Wanted) -> int:
    """0 for a dark of the wanted filter, 1 for one of no filter, 2 for another filter."""
    if dark.filter == wanted.filter:
        return 0
    return 1 if dark.filter is None else 2
