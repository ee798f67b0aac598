"""What the night report shows, read from SQL into plain records.

A night (see :func:`observatory.clock.night_of`) holds the work orders received in its
window with all their step runs, the device events of the window, and the products of
its file batches: a batch belongs to the night when it was created in the window or its
name starts with the night's date (``20261123-...``), so products made later by a re-run
still appear under the night their frames were taken.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from observatory.clock import night_window
from observatory.db.models import (
    CalibratedFrame,
    DeviceEvent,
    Exposure,
    FileBatch,
    MasterFrame,
    StepRun,
    WorkOrder,
)


@dataclass(frozen=True)
class StepRecord:
    step: str
    attempt: int
    state: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    worker: str | None
    error: str | None
    traceback: str | None


@dataclass(frozen=True)
class OrderRecord:
    pk: int
    order_id: str
    user: str
    request: str
    state: str
    state_reason: str | None
    received_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    parent_pk: int | None
    steps: list[StepRecord]


@dataclass(frozen=True)
class MasterRecord:
    pk: int
    kind: str
    group_key: str
    batch: str | None
    # Relative to settings.products_dir.
    path: str
    n_inputs: int
    method: str
    naxis1: int
    naxis2: int
    date_obs: dt.datetime
    is_bad: bool
    stats: dict[str, Any]
    origin_url: str | None


@dataclass(frozen=True)
class CalibratedRecord:
    pk: int
    batch: str
    # Relative to settings.products_dir.
    path: str
    raw_path: str
    object: str | None
    filter: str | None
    exptime_s: float
    date_obs: dt.datetime
    wcs_status: str
    ra_center_deg: float | None
    dec_center_deg: float | None
    pixel_scale_arcsec: float | None
    solve_time_s: float | None
    stats: dict[str, Any]
    origin_url: str | None
    # Corrections the frame needed but was calibrated without (processor
    # missing_calibrations = "skip"): name -> why.
    missing: dict[str, str] = field(default_factory=dict)
    # Image quality figures (None: not measured) and why they flag the frame.
    quality: dict[str, Any] | None = None
    quality_flags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LeftOutRecord:
    """A calibration frame flagged and left out of its master, and why."""

    batch: str
    path: str
    imagetyp: str
    filter: str | None
    exptime_s: float
    reasons: list[str]


@dataclass(frozen=True)
class EventRecord:
    at: dt.datetime
    device: str
    event: str
    details: dict[str, Any]
    work_order_pk: int | None


@dataclass(frozen=True)
class NightContent:
    night: dt.date
    start: dt.datetime
    end: dt.datetime
    orders: list[OrderRecord] = field(default_factory=list)
    masters: list[MasterRecord] = field(default_factory=list)
    calibrated: list[CalibratedRecord] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    left_out: list[LeftOutRecord] = field(default_factory=list)


def gather_night(
    session: Session,
    night: dt.date,
    longitude_deg: float,
    window: tuple[dt.datetime, dt.datetime] | None = None,
) -> NightContent:
    """Everything the report shows about ``night``, as records that outlive the session.

    ``window`` (aware UTC start and end) replaces the night's noon-to-noon window: the
    wall-clock span of one simulated night among several run back to back, whose orders
    all arrive within one real night. Batches named with the night's date are kept too.
    """
    start, end = window if window is not None else night_window(night, longitude_deg)
    batch_pks = _night_batch_pks(session, night, start, end)
    return NightContent(
        night=night,
        start=start,
        end=end,
        orders=_orders(session, start, end),
        masters=_masters(session, batch_pks),
        calibrated=_calibrated(session, batch_pks),
        events=_events(session, start, end),
        left_out=_left_out(session, batch_pks),
    )


def _night_batch_pks(
    session: Session, night: dt.date, start: dt.datetime, end: dt.datetime
) -> list[int]:
    query = select(FileBatch.pk).where(
        or_(
            (FileBatch.created_at >= start) & (FileBatch.created_at < end),
            FileBatch.name.startswith(f"{night:%Y%m%d}-", autoescape=True),
        )
    )
    return list(session.scalars(query))


def _orders(session: Session, start: dt.datetime, end: dt.datetime) -> list[OrderRecord]:
    orders = session.scalars(
        select(WorkOrder)
        .where(WorkOrder.received_at >= start, WorkOrder.received_at < end)
        .options(selectinload(WorkOrder.step_runs))
        .order_by(WorkOrder.received_at, WorkOrder.pk)
    )
    return [
        OrderRecord(
            pk=o.pk,
            order_id=o.order_id,
            user=o.user,
            request=o.request,
            state=str(o.state),
            state_reason=o.state_reason,
            received_at=o.received_at,
            started_at=o.started_at,
            finished_at=o.finished_at,
            parent_pk=o.parent_pk,
            steps=[_step(s) for s in o.step_runs],
        )
        for o in orders
    ]


def _step(run: StepRun) -> StepRecord:
    return StepRecord(
        step=run.step,
        attempt=run.attempt,
        state=str(run.state),
        started_at=run.started_at,
        ended_at=run.ended_at,
        worker=run.worker,
        error=run.error,
        traceback=run.traceback,
    )


def _masters(session: Session, batch_pks: list[int]) -> list[MasterRecord]:
    masters = session.scalars(
        select(MasterFrame)
        .where(MasterFrame.file_batch_pk.in_(batch_pks))
        .options(selectinload(MasterFrame.file_batch))
        .order_by(MasterFrame.file_batch_pk, MasterFrame.kind, MasterFrame.group_key)
    )
    return [
        MasterRecord(
            pk=m.pk,
            kind=str(m.kind),
            group_key=m.group_key,
            batch=m.file_batch.name if m.file_batch is not None else None,
            path=m.path,
            n_inputs=m.n_inputs,
            method=m.method,
            naxis1=m.naxis1,
            naxis2=m.naxis2,
            date_obs=m.date_obs,
            is_bad=m.is_bad,
            stats=dict(m.stats),
            origin_url=m.origin_url,
        )
        for m in masters
    ]


def _calibrated(session: Session, batch_pks: list[int]) -> list[CalibratedRecord]:
    rows = session.execute(
        select(CalibratedFrame, Exposure, FileBatch.name)
        .join(Exposure, CalibratedFrame.exposure_pk == Exposure.pk)
        .join(FileBatch, Exposure.file_batch_pk == FileBatch.pk)
        .where(FileBatch.pk.in_(batch_pks))
        .order_by(Exposure.date_obs, CalibratedFrame.pk)
    )
    return [
        CalibratedRecord(
            pk=frame.pk,
            batch=batch,
            path=frame.path,
            raw_path=exposure.path,
            object=exposure.object,
            filter=exposure.filter,
            exptime_s=exposure.exptime_s,
            date_obs=exposure.date_obs,
            wcs_status=str(frame.wcs_status),
            ra_center_deg=frame.ra_center_deg,
            dec_center_deg=frame.dec_center_deg,
            pixel_scale_arcsec=frame.pixel_scale_arcsec,
            solve_time_s=frame.solve_time_s,
            stats=dict(frame.stats),
            origin_url=frame.origin_url,
            missing=dict((frame.corrections or {}).get("missing", {})),
            quality=dict(frame.quality) if frame.quality is not None else None,
            quality_flags=list(frame.quality_flags),
        )
        for frame, exposure, batch in rows
    ]


def _events(session: Session, start: dt.datetime, end: dt.datetime) -> list[EventRecord]:
    events = session.scalars(
        select(DeviceEvent)
        .where(DeviceEvent.at >= start, DeviceEvent.at < end)
        .order_by(DeviceEvent.at, DeviceEvent.pk)
    )
    return [
        EventRecord(
            at=e.at,
            device=e.device,
            event=e.event,
            details=dict(e.details),
            work_order_pk=e.work_order_pk,
        )
        for e in events
    ]


def _left_out(session: Session, batch_pks: list[int]) -> list[LeftOutRecord]:
    rows = session.execute(
        select(Exposure, FileBatch.name)
        .join(FileBatch, Exposure.file_batch_pk == FileBatch.pk)
        .where(FileBatch.pk.in_(batch_pks), Exposure.imagetyp != "light")
        .order_by(FileBatch.name, Exposure.date_obs, Exposure.pk)
    )
    return [
        LeftOutRecord(
            batch, _frame_name(e), e.imagetyp, e.filter, e.exptime_s, list(e.quality_flags)
        )
        for e, batch in rows
        if e.quality_flags
    ]


def _frame_name(exposure: Exposure) -> str:
    """The raw file, and the detector of a multi-extension file (``zero_1.fits [im2]``)."""
    return f"{exposure.path} [{exposure.detector}]" if exposure.detector else exposure.path
