"""The SQL tables: work orders and their step runs, file batches, exposures, master and
calibrated frames, device events.

Timestamps are aware UTC datetimes (naive ones are refused on write). JSON columns hold
plain JSON values; state-like columns hold the short string values of the enums below and
read back as enum members. The schema itself is created only by the Alembic migrations in
``observatory/db/migrations`` (see :mod:`observatory.db.migrate`).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column, relationship

from observatory.db.types import UtcDateTime, json_dict, json_list, str_enum, utcnow

# Explicit constraint names, so that later migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Widths of text read from frame headers (see observatory.processor.cards): a filter as
# long as the intake lets an order name one, a detector name of processor.detectors
# (64 characters and an EXTVER). Ingest refuses a file whose value is longer.
FILTER_LENGTH = 128
DETECTOR_LENGTH = 128
OBJECT_LENGTH = 128
# A camera setup (processor.setups: "gain 100, offset 50, origin 48,32").
CAMERA_SETUP_LENGTH = 64
# A master's group key: kind, filter, exposure, binning, detector and camera setup
# (master_group_key; "|setup=" is 7 characters).
GROUP_KEY_LENGTH = 64 + FILTER_LENGTH + DETECTOR_LENGTH + 8 + CAMERA_SETUP_LENGTH


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UtcDateTime}


class WorkOrderState(enum.StrEnum):
    RECEIVED = "received"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PARTIAL = "partial"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class StepState(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class FileBatchState(enum.StrEnum):
    OPEN = "open"
    COMPLETE = "complete"
    TRANSFERRED = "transferred"
    FAILED = "failed"


class ImageType(enum.StrEnum):
    """Normalised ``IMAGETYP`` of an exposure."""

    BIAS = "bias"
    DARK = "dark"
    FLAT = "flat"
    LIGHT = "light"


class ExposureState(enum.StrEnum):
    OK = "ok"
    REJECTED = "rejected"


class MasterKind(enum.StrEnum):
    BIAS = "bias"
    DARK = "dark"
    FLAT = "flat"


class WcsStatus(enum.StrEnum):
    PENDING = "pending"
    SOLVED = "solved"
    UNSOLVED = "unsolved"
    FAILED = "failed"
    SKIPPED = "skipped"


class WorkOrder(Base):
    """One submitted work order; ``payload`` is the whole validated order as a dict."""

    __tablename__ = "work_orders"
    # An id names one order per user and per queue (the design notes send id "1" to the
    # processor and to the telescope). A rejected order has no queue and takes no id.
    __table_args__ = (
        UniqueConstraint("order_id", "user", "queue"),
        Index(None, "state", "priority"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(128))
    user: Mapped[str] = mapped_column(String(128))
    request: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(json_dict())
    # 0-10, 10 most urgent.
    priority: Mapped[float | None] = mapped_column(Float)
    # The components of the priority, for operators (observatory.orders.priority).
    priority_reasons: Mapped[dict[str, Any] | None] = mapped_column(json_dict(nullable=True))
    state: Mapped[WorkOrderState] = mapped_column(
        str_enum(WorkOrderState, "work_order_state"), default=WorkOrderState.RECEIVED
    )
    state_reason: Mapped[str | None] = mapped_column(Text)
    queue: Mapped[str | None] = mapped_column(String(32))
    task_name: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # A queued order is published only once this instant has come (None: at once).
    ready_at: Mapped[dt.datetime | None]
    published_at: Mapped[dt.datetime | None]
    started_at: Mapped[dt.datetime | None]
    # The last sign of life of a running order: its claim or resume, or the start of one
    # of its units (observatory.orders.stalls resumes a processor chain silent too long).
    progressed_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    # A cancel request: a running order stops when its worker sees it (orders.cancel).
    cancel_requested_at: Mapped[dt.datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(128))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # Set when the system submitted this order on behalf of another one.
    parent_pk: Mapped[int | None] = mapped_column(
        ForeignKey("work_orders.pk", ondelete="SET NULL"), index=True
    )
    # The file batch a calibrate/resume/restart order names, set at receipt, so that the
    # batch's orders are found by name and never by parsing every stored url.
    batch: Mapped[str | None] = mapped_column(String(200), index=True)

    parent: Mapped[WorkOrder | None] = relationship(remote_side=[pk], back_populates="children")
    children: Mapped[list[WorkOrder]] = relationship(
        back_populates="parent", order_by="WorkOrder.pk"
    )
    step_runs: Mapped[list[StepRun]] = relationship(
        back_populates="work_order",
        order_by="[StepRun.started_at, StepRun.pk]",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def __repr__(self) -> str:
        return (
            f"WorkOrder(pk={self.pk}, order_id={self.order_id!r}, user={self.user!r}, "
            f"request={self.request!r}, state={self.state!s})"
        )


class StepRun(Base):
    """One attempt at one step of a work order, with its outcome."""

    __tablename__ = "step_runs"
    __table_args__ = (UniqueConstraint("work_order_pk", "step", "attempt"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_pk: Mapped[int] = mapped_column(ForeignKey("work_orders.pk", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[StepState] = mapped_column(
        str_enum(StepState, "step_state"), default=StepState.RUNNING
    )
    task_id: Mapped[str | None] = mapped_column(String(64))
    worker: Mapped[str | None] = mapped_column(String(128))
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    outputs: Mapped[dict[str, Any] | None] = mapped_column(json_dict(nullable=True))

    work_order: Mapped[WorkOrder] = relationship(back_populates="step_runs")

    def __repr__(self) -> str:
        return (
            f"StepRun(pk={self.pk}, work_order_pk={self.work_order_pk}, step={self.step!r}, "
            f"attempt={self.attempt}, state={self.state!s})"
        )


class FileBatch(Base):
    """A folder of exposures taken together, e.g. one night's block ``20261123-obs-42``."""

    __tablename__ = "file_batches"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    # Where the batch came from; None when it was written here.
    url: Mapped[str | None] = mapped_column(Text)
    # The local folder holding the files.
    path: Mapped[str] = mapped_column(Text)
    work_order_pk: Mapped[int | None] = mapped_column(
        ForeignKey("work_orders.pk", ondelete="SET NULL"), index=True
    )
    state: Mapped[FileBatchState] = mapped_column(
        str_enum(FileBatchState, "file_batch_state"), default=FileBatchState.OPEN
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None]
    manifest: Mapped[dict[str, Any] | None] = mapped_column(json_dict(nullable=True))

    work_order: Mapped[WorkOrder | None] = relationship()
    exposures: Mapped[list[Exposure]] = relationship(
        back_populates="file_batch",
        order_by="Exposure.pk",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    master_frames: Mapped[list[MasterFrame]] = relationship(
        back_populates="file_batch", order_by="MasterFrame.pk"
    )

    def __repr__(self) -> str:
        return f"FileBatch(pk={self.pk}, name={self.name!r}, state={self.state!s})"


class Exposure(Base):
    """One raw FITS file of a batch, with the header values the pipeline groups by.

    ``imagetyp`` holds an :class:`ImageType` value for usable exposures. It is a plain
    string so that a file with an unknown type can still be recorded as ``rejected``,
    with the reason in ``error``.
    """

    __tablename__ = "exposures"
    __table_args__ = (UniqueConstraint("file_batch_pk", "path", "detector"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_batch_pk: Mapped[int] = mapped_column(ForeignKey("file_batches.pk", ondelete="CASCADE"))
    # Relative to the batch folder.
    path: Mapped[str] = mapped_column(Text)
    # The detector of a multi-extension file calibrated extension by extension (its
    # EXTNAME, CCDNAME, ...; see processor.detectors): one row per extension. Empty: the
    # file is one detector (a plain image, or extensions assembled into one by DETSEC).
    detector: Mapped[str] = mapped_column(String(DETECTOR_LENGTH), default="", server_default="")
    # The camera setup a master must share with the frames it calibrates (gain and
    # offset settings, subframe origin; see processor.setups); empty: none written.
    camera_setup: Mapped[str] = mapped_column(
        String(CAMERA_SETUP_LENGTH), default="", server_default=""
    )
    imagetyp: Mapped[str] = mapped_column(String(16))
    exptime_s: Mapped[float] = mapped_column(Float)
    filter: Mapped[str | None] = mapped_column(String(FILTER_LENGTH))
    date_obs: Mapped[dt.datetime]
    ra_deg: Mapped[float | None] = mapped_column(Float)
    dec_deg: Mapped[float | None] = mapped_column(Float)
    object: Mapped[str | None] = mapped_column(String(OBJECT_LENGTH))
    ccd_temp_c: Mapped[float | None] = mapped_column(Float)
    binning: Mapped[int] = mapped_column(Integer, default=1)
    naxis1: Mapped[int | None] = mapped_column(Integer)
    naxis2: Mapped[int | None] = mapped_column(Integer)
    # sha256 of the file, hex.
    checksum: Mapped[str | None] = mapped_column(String(64))
    # Selected header cards, keyword -> value.
    header: Mapped[dict[str, Any]] = mapped_column(json_dict(), default=dict)
    state: Mapped[ExposureState] = mapped_column(
        str_enum(ExposureState, "exposure_state"), default=ExposureState.OK
    )
    error: Mapped[str | None] = mapped_column(Text)
    # The instrument profile that read the file, and the header card each value came from
    # (quantity -> card, e.g. {"binning": "CCDSUM"}).
    profile: Mapped[str | None] = mapped_column(String(64))
    cards: Mapped[dict[str, Any] | None] = mapped_column(json_dict(nullable=True))
    # How the raw planes become the calibrated image (amplifier sections, output shape;
    # see processor.readouts); None for a plain primary image used whole. naxis1/naxis2
    # are the size after trimming.
    readout: Mapped[dict[str, Any] | None] = mapped_column(json_dict(nullable=True))
    gain_e_per_adu: Mapped[float | None] = mapped_column(Float)
    read_noise_e: Mapped[float | None] = mapped_column(Float)
    saturation_adu: Mapped[float | None] = mapped_column(Float)
    # Why a calibration frame was left out of its master (observatory.calibration.
    # screening); the frame is kept, and the list is set again whenever its group is
    # stacked. Empty: not flagged.
    quality_flags: Mapped[list[str]] = mapped_column(json_list(), default=list)

    file_batch: Mapped[FileBatch] = relationship(back_populates="exposures")
    calibrated_frame: Mapped[CalibratedFrame | None] = relationship(back_populates="exposure")

    def __repr__(self) -> str:
        return (
            f"Exposure(pk={self.pk}, file_batch_pk={self.file_batch_pk}, path={self.path!r}, "
            f"imagetyp={self.imagetyp!r}, state={self.state!s})"
        )


def master_group_key(
    kind: MasterKind | str,
    filter: str | None,
    exptime_s: float | None,
    binning: int,
    detector: str | None = "",
    camera_setup: str | None = "",
) -> str:
    """The text that names a master frame's calibration group, e.g.
    ``"dark|filter=|exptime_s=30.000|binning=1"``, or with ``|detector=im2`` for one
    detector of a multi-extension camera.

    Kind, filter, exposure time (to the millisecond) and binning, with an empty field for
    "none", so that two masters of the same group in one batch compare equal even where
    SQL would treat their NULLs as distinct. A single detector (empty name) adds nothing,
    so the keys of masters made before detectors were named are unchanged; nor does an
    empty camera setup (else ``|setup=gain 100, offset 50``, see processor.setups).
    """
    exptime = "" if exptime_s is None else f"{exptime_s:.3f}"
    key = f"{MasterKind(kind)}|filter={filter or ''}|exptime_s={exptime}|binning={binning}"
    key = f"{key}|detector={detector}" if detector else key
    return f"{key}|setup={camera_setup}" if camera_setup else key


# The key of MasterFrame.stats that marks a master dark holding the bias level (BIASINCL).
BIAS_INCLUDED_STAT = "bias_included"


class MasterFrame(Base):
    """A stacked bias, dark or flat.

    ``group_key`` (see :func:`master_group_key`) with the frame size is unique per batch
    (a batch may hold a group in two sizes, a full frame and a subframe), so a re-run of
    a stacking step replaces its master instead of adding a second one: write masters with
    :func:`observatory.db.queries.upsert_master_frame`. The key is derived from the other
    columns whenever a row is flushed; never set it by hand.
    """

    __tablename__ = "master_frames"
    __table_args__ = (
        UniqueConstraint("file_batch_pk", "group_key", "naxis1", "naxis2"),
        Index(None, "group_key", "date_obs"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[MasterKind] = mapped_column(str_enum(MasterKind, "master_kind"))
    file_batch_pk: Mapped[int | None] = mapped_column(
        ForeignKey("file_batches.pk", ondelete="SET NULL")
    )
    group_key: Mapped[str] = mapped_column(String(GROUP_KEY_LENGTH))
    filter: Mapped[str | None] = mapped_column(String(FILTER_LENGTH))
    exptime_s: Mapped[float | None] = mapped_column(Float)
    binning: Mapped[int] = mapped_column(Integer, default=1)
    # The detector it calibrates (see Exposure.detector); empty: a single detector.
    detector: Mapped[str] = mapped_column(String(DETECTOR_LENGTH), default="", server_default="")
    # The camera setup of its inputs (see Exposure.camera_setup); empty: none written.
    camera_setup: Mapped[str] = mapped_column(
        String(CAMERA_SETUP_LENGTH), default="", server_default=""
    )
    naxis1: Mapped[int] = mapped_column(Integer)
    naxis2: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)
    n_inputs: Mapped[int] = mapped_column(Integer)
    # Exposure pks that went into the stack.
    inputs: Mapped[list[int]] = mapped_column(json_list())
    # Statistics of the stack; a master dark stacked without a master bias also holds
    # ``BIAS_INCLUDED_STAT: True`` (it keeps the bias level and serves its own exposure only).
    stats: Mapped[dict[str, Any]] = mapped_column(json_dict(), default=dict)
    # How the inputs were combined, e.g. "median" or "sigma_clip_mean".
    method: Mapped[str] = mapped_column(String(32))
    # Mid-time of the inputs.
    date_obs: Mapped[dt.datetime]
    is_bad: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The file server of the host that wrote ``path`` (None: only on the host that made it).
    origin_url: Mapped[str | None] = mapped_column(Text)

    file_batch: Mapped[FileBatch | None] = relationship(back_populates="master_frames")

    def __repr__(self) -> str:
        return (
            f"MasterFrame(pk={self.pk}, file_batch_pk={self.file_batch_pk}, "
            f"group_key={self.group_key!r}, is_bad={self.is_bad})"
        )


@event.listens_for(MasterFrame, "before_insert")
@event.listens_for(MasterFrame, "before_update")
def _derive_group_key(
    mapper: Mapper[MasterFrame], connection: Connection, frame: MasterFrame
) -> None:
    if frame.binning is None:
        # Column defaults are applied after this hook; the key needs the value now.
        frame.binning = 1
    if frame.detector is None:
        frame.detector = ""
    if frame.camera_setup is None:
        frame.camera_setup = ""
    frame.group_key = master_group_key(
        frame.kind, frame.filter, frame.exptime_s, frame.binning, frame.detector,
        frame.camera_setup,
    )  # fmt: skip


class CalibratedFrame(Base):
    """A light exposure after calibration, with the masters used and its plate solution."""

    __tablename__ = "calibrated_frames"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    exposure_pk: Mapped[int] = mapped_column(
        ForeignKey("exposures.pk", ondelete="CASCADE"), unique=True
    )
    path: Mapped[str] = mapped_column(Text)
    bias_pk: Mapped[int | None] = mapped_column(ForeignKey("master_frames.pk"))
    dark_pk: Mapped[int | None] = mapped_column(ForeignKey("master_frames.pk"))
    flat_pk: Mapped[int | None] = mapped_column(ForeignKey("master_frames.pk"))
    stats: Mapped[dict[str, Any]] = mapped_column(json_dict(), default=dict)
    wcs_status: Mapped[WcsStatus] = mapped_column(
        str_enum(WcsStatus, "wcs_status"), default=WcsStatus.PENDING
    )
    ra_center_deg: Mapped[float | None] = mapped_column(Float)
    dec_center_deg: Mapped[float | None] = mapped_column(Float)
    pixel_scale_arcsec: Mapped[float | None] = mapped_column(Float)
    solve_time_s: Mapped[float | None] = mapped_column(Float)
    # Catalogue stars matched by the solution, and the solver that found it
    # (``engine``: astrometry.net in process; ``solve-field``: its command, the fallback).
    matched_stars: Mapped[int | None] = mapped_column(Integer)
    plate_solver: Mapped[str | None] = mapped_column(Text)
    # Image quality (FWHM, ellipticity, sky, stars, airmass, zero point, limiting
    # magnitude; see observatory.quality) and why the settings' thresholds flag the frame.
    quality: Mapped[dict[str, Any] | None] = mapped_column(json_dict(nullable=True))
    quality_flags: Mapped[list[str]] = mapped_column(json_list(), default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The file server of the host that wrote ``path`` (None: only on the host that made it).
    origin_url: Mapped[str | None] = mapped_column(Text)
    # Corrections by outcome: {"applied": [...], "missing": {name: why},
    # "not_needed": {name: why}} over overscan, trim, bias, dark, flat.
    corrections: Mapped[dict[str, Any] | None] = mapped_column(json_dict(nullable=True))
    # True when a correction the frame needed was missing (calibrated under "skip").
    incomplete: Mapped[bool] = mapped_column(Boolean, default=False)

    exposure: Mapped[Exposure] = relationship(back_populates="calibrated_frame")
    bias: Mapped[MasterFrame | None] = relationship(foreign_keys=[bias_pk])
    dark: Mapped[MasterFrame | None] = relationship(foreign_keys=[dark_pk])
    flat: Mapped[MasterFrame | None] = relationship(foreign_keys=[flat_pk])

    def __repr__(self) -> str:
        return (
            f"CalibratedFrame(pk={self.pk}, exposure_pk={self.exposure_pk}, "
            f"wcs_status={self.wcs_status!s})"
        )


class DeviceEvent(Base):
    """Something a device did or reported, e.g. ``dome`` / ``shutter_opened``."""

    __tablename__ = "device_events"
    __table_args__ = (Index(None, "device", "at"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    device: Mapped[str] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(json_dict(), default=dict)
    work_order_pk: Mapped[int | None] = mapped_column(
        ForeignKey("work_orders.pk", ondelete="SET NULL"), index=True
    )

    work_order: Mapped[WorkOrder | None] = relationship()

    def __repr__(self) -> str:
        return (
            f"DeviceEvent(pk={self.pk}, at={self.at}, device={self.device!r}, event={self.event!r})"
        )


class Heartbeat(Base):
    """The last sign of life of a named long-running process, e.g. ``telescope-worker``.

    Written through SQL rather than the broker, so that the safety supervisor can tell a
    dead worker from a dead broker.
    """

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(128))
    pid: Mapped[int] = mapped_column(Integer)
    beat_at: Mapped[dt.datetime]
    details: Mapped[dict[str, Any]] = mapped_column(json_dict(), default=dict)

    def __repr__(self) -> str:
        return f"Heartbeat(name={self.name!r}, host={self.host!r}, beat_at={self.beat_at})"


class QueueHold(Base):
    """A held queue: while this row exists, nothing of ``queue`` starts (orders.hold)."""

    __tablename__ = "queue_holds"

    queue: Mapped[str] = mapped_column(String(32), primary_key=True)
    held_at: Mapped[dt.datetime]
    held_by: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"QueueHold(queue={self.queue!r}, held_by={self.held_by!r}, held_at={self.held_at})"


class FocusRun(Base):
    """One autofocus run: the V-curve measured, its fit, and where the focuser was left.

    ``positions``, ``hfd_px`` and ``stars`` are parallel lists, one entry per frame (an
    HFD of None: no star measured). ``best_position`` is None when the fit failed, and
    ``reason`` then says why; the focuser was put back at ``position_before``.
    """

    __tablename__ = "focus_runs"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_pk: Mapped[int | None] = mapped_column(
        ForeignKey("work_orders.pk", ondelete="SET NULL"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    filter: Mapped[str | None] = mapped_column(String(FILTER_LENGTH))
    temperature_c: Mapped[float | None] = mapped_column(Float)
    exposure_s: Mapped[float] = mapped_column(Float)
    positions: Mapped[list[Any]] = mapped_column(json_list(), default=list)
    hfd_px: Mapped[list[Any]] = mapped_column(json_list(), default=list)
    stars: Mapped[list[Any]] = mapped_column(json_list(), default=list)
    fit: Mapped[dict[str, Any]] = mapped_column(json_dict(), default=dict)
    best_position: Mapped[float | None] = mapped_column(Float)
    position_before: Mapped[int] = mapped_column(Integer)
    position_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"FocusRun(pk={self.pk}, filter={self.filter!r}, best={self.best_position})"
