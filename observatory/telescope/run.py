"""What every telescope sequence does around its frames.

:func:`run_sequence` opens the batch and the heartbeat, runs the sequence body with an
:class:`OrderRun` (its devices, batch and timeline), and then either completes the batch
and submits the ``calibrate_file_batch`` order, or, when anything interrupts the body,
writes the manifest with ``complete: false``, marks the batch failed, closes the dome if
this order opened it and conditions are not known to be safe, and raises
:class:`SequenceInterrupted` chained to the cause.

A cancel request (:mod:`observatory.orders.cancel`) is read from SQL at most once a
second: between phases, before each frame, and while the camera exposes. Once seen, the
exposure under way is aborted (AbortExposure), the mount stopped (slew aborted, tracking
off), the dome closed if this order opened it (as at the end of the sequence), and the
batch completed with the frames already written (its manifest lists exactly those
files), which go to the processor like any batch. The sequence then returns normally
with ``cancelled`` in its outputs; the order ends ``cancelled``.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from observatory.db.models import ImageType
from observatory.devices.dome import ShutterState
from observatory.devices.mount import MountState, with_horizontal
from observatory.errors import DeviceError, ObservatoryError, OrderCancelled, UnsafeConditions
from observatory.intake import Publisher, Receipt, submit
from observatory.orders.cancel import CANCELLED_OUTPUT, CancelRequest, cancel_request
from observatory.orders.lifecycle import Claim
from observatory.settings import Settings
from observatory.storage import frame_bytes, require_free
from observatory.telescope.batch import BatchWriter, WrittenFrame
from observatory.telescope.events import record_device_event
from observatory.telescope.fits import FrameMetadata
from observatory.telescope.heartbeat import HeartbeatWriter
from observatory.telescope.limits import check_filter
from observatory.telescope.open_permit import await_open_permit
from observatory.telescope.rig import TelescopeRig, slave_dome

log = logging.getLogger(__name__)

# How often a running sequence reads its order's cancel request from SQL.
CANCEL_POLL_S = 1.0


class SequenceInterrupted(ObservatoryError):
    """A sequence stopped before its end; the cause is chained. ``frames_written`` frames
    of batch ``batch`` are on disk and on record."""

    def __init__(self, message: str, *, batch: str, frames_written: int) -> None:
        super().__init__(message)
        self.batch = batch
        self.frames_written = frames_written


@dataclass
class OrderRun:
    """One telescope order under way: what a sequence body acts through."""

    settings: Settings
    claim: Claim
    rig: TelescopeRig
    batch: BatchWriter
    heartbeat: HeartbeatWriter
    dome_opened: bool = False
    notes: list[str] = field(default_factory=list)
    cancel: CancelRequest | None = None
    # When the run began (time.monotonic()): its time limit counts from here.
    started_s: float = field(default_factory=time.monotonic)
    _cancel_read_s: float = -math.inf

    def event(self, device: str, event: str, **details: Any) -> None:
        record_device_event(self.settings, device, event, self.claim.pk, **details)

    def phase(self, name: str) -> None:
        """Put the phase on the heartbeat (raises if the heartbeat stopped working), after
        checking for a cancel request (raises :class:`OrderCancelled`)."""
        self.check_cancel()
        self.heartbeat.update(phase=name)

    def cancel_reason(self) -> str | None:
        """Who cancelled the order and why, once a request was made; None until then.
        Reads SQL at most every ``CANCEL_POLL_S`` seconds."""
        now_s = time.monotonic()
        if self.cancel is None and now_s - self._cancel_read_s >= CANCEL_POLL_S:
            self._cancel_read_s = now_s
            self.cancel = cancel_request(self.settings, self.claim.pk)
        return None if self.cancel is None else self.cancel.describe()

    def check_cancel(self) -> None:
        """Raise :class:`OrderCancelled` once the order's cancel request is seen."""
        reason = self.cancel_reason()
        if reason is not None:
            raise OrderCancelled(reason)

    def read_dome_open(self) -> bool:
        is_open = self.rig.dome.status().shutter is not ShutterState.CLOSED
        self.heartbeat.update(dome_open=is_open)
        return is_open

    def open_dome(self) -> None:
        """Open the shutter; remembered so that an interruption can close it again.

        Only with the safety supervisor's permit: while its hold-off alone refuses, this
        waits for it (:mod:`observatory.telescope.open_permit`); any other refusal raises
        :class:`~observatory.supervisor.permit.OpeningRefused` at once."""
        if self.rig.dome.status().shutter is ShutterState.OPEN:
            self.heartbeat.update(dome_open=True)
            return
        await_open_permit(self)
        self.event("dome", "open_requested")
        self.dome_opened = True
        self.heartbeat.update(dome_open=True)
        self.rig.dome.open_shutter()
        self.event("dome", "shutter_opened")

    def close_dome(self, reason: str) -> None:
        if self.rig.dome.status().shutter is ShutterState.CLOSED:
            self.heartbeat.update(dome_open=False)
            return
        self.event("dome", "close_requested", reason=reason)
        self.rig.dome.close_shutter()
        self.heartbeat.update(dome_open=False)
        self.event("dome", "shutter_closed", reason=reason)

    def slave_dome(self, mount: MountState) -> None:
        """Bring the slit to the mount when it is off by more than the tolerance. A mount
        that does not report its altitude or azimuth has them computed from its RA/Dec
        and sidereal time at the site (:func:`with_horizontal`)."""
        tolerance_deg = self.settings.telescope.dome_slit_tolerance_deg
        mount = self.horizontal(mount)
        if not self.heartbeat.details.get("dome_slaved"):
            # Told before the first move: the dome worker then refuses to turn the dome.
            self.heartbeat.update(dome_slaved=True)
        moved = slave_dome(self.rig.dome, mount, tolerance_deg)
        if moved is not None and moved.azimuth_deg is not None:
            self.event("dome", "slit_moved", azimuth_deg=round(moved.azimuth_deg, 2))

    def horizontal(self, mount: MountState) -> MountState:
        """``mount`` with its altitude and azimuth known (see :func:`with_horizontal`)."""
        if mount.altitude_deg is not None and mount.azimuth_deg is not None:
            return mount
        lst_hours = self.rig.mount.sidereal_time_hours()
        return with_horizontal(mount, lst_hours, self.settings.site.latitude_deg)

    def slew_to(self, ra_deg: float, dec_deg: float) -> MountState:
        """Slew the mount and wait there; a cancel request seen meanwhile stops the wait
        (:class:`OrderCancelled`; the mount is stopped after, see :meth:`stop_after_cancel`)."""
        try:
            return self.rig.mount.slew_to_radec(ra_deg, dec_deg, stop=self.cancel_reason)
        except DeviceError as error:
            if self.cancel is None:
                raise
            raise OrderCancelled(self.cancel.describe()) from error

    def select_filter(self, name: str | None) -> str | None:
        """Turn ``name`` into the beam; with a focuser and ``focus.apply_filter_offsets``,
        move it by the difference of the two filters' focus offsets. Without a filter
        wheel, ``name`` is None (checked before the sequence, see ``limits.check_filter``)
        and nothing is sent: None, the frame's filter."""
        check_filter(self.rig, name, "filter")
        wheel = self.rig.filterwheel
        if wheel is None or name is None:
            return None
        before = wheel.current_filter()
        selected = wheel.select(name)
        if selected == before:
            return selected
        self.event("filterwheel", "filter_selected", filter=selected)
        focuser = self.rig.focuser
        if before is not None and focuser is not None and self.settings.focus.apply_filter_offsets:
            shift = wheel.focus_offsets[selected] - wheel.focus_offsets[before]
            if shift:
                position = focuser.move_to(focuser.position() + shift)
                self.event("focuser", "filter_offset_applied", steps=shift, position=position)
        return selected

    def take(
        self,
        imagetyp: ImageType,
        exposure_s: float,
        binning: int,
        object: str,
        filter: str | None = None,
        mount: MountState | None = None,
        focal_length_mm: float | None = None,
    ) -> WrittenFrame:
        """Expose (a dark for bias and dark frames), download and write one frame."""
        light = imagetyp in (ImageType.LIGHT, ImageType.FLAT)
        camera = self.rig.camera
        details = {"imagetyp": imagetyp.value, "exposure_s": exposure_s, "filter": filter}
        self.check_cancel()
        info = camera.info
        require_free(self.settings, self.batch.folder,
                     frame_bytes(info.width_px, info.height_px, binning),
                     f"frame {self.batch.frame_count + 1} of batch {self.batch.name}")  # fmt: skip
        self.event("camera", "exposure_started", **details, binning=binning)
        try:
            frame = camera.expose(exposure_s, light, binning, stop=self.cancel_reason)
        except DeviceError as error:
            if self.cancel is None:
                raise
            camera.abort()
            self.event("camera", "exposure_aborted", **details, reason=self.cancel.describe())
            raise OrderCancelled(self.cancel.describe()) from error
        if frame.error_cleared:
            self.event("camera", "error_cleared", state_before="Error", command="AbortExposure")
        self.event("camera", "exposure_ended", **details)
        site = self.settings.site
        meta = FrameMetadata(
            imagetyp=imagetyp,
            exposure_s=exposure_s,
            date_obs=frame.start_utc,
            binning=binning,
            object=object,
            instrument=self.settings.telescope.instrument,
            telescope=self.settings.telescope.telescope,
            site_latitude_deg=site.latitude_deg,
            site_longitude_deg=site.longitude_deg,
            order_id=self.claim.order_id,
            order_pk=self.claim.pk,
            batch=self.batch.name,
            filter=filter,
            ra_deg=mount.ra_deg if mount is not None else None,
            dec_deg=mount.dec_deg if mount is not None else None,
            ccd_temp_c=frame.ccd_temp_c,
            pixel_size_um=camera.info.pixel_size_x_um,
            focal_length_mm=focal_length_mm,
            # Binned, a colour sensor's pixels mix the matrix's colours: no pattern left.
            bayer_pattern=info.bayer_pattern if binning == 1 else None,
        )
        return self.batch.add(frame.data, meta)

    def secure_after(self, error: BaseException) -> None:
        """After an interruption: close the dome if this order opened it and conditions
        are unsafe or unknown. A failure here is noted (and logged), the cause stays."""
        if isinstance(error, UnsafeConditions):
            self.event("safetymonitor", "unsafe", reason=str(error))
        if not self.dome_opened:
            return
        try:
            safe = self.rig.safety.is_safe()
        except DeviceError as unknown:
            self.notes.append(f"safety unknown ({unknown})")
            safe = False
        if safe:
            return
        try:
            self.close_dome("unsafe after interruption")
        except ObservatoryError as close_error:
            log.exception("the dome could not be closed after an interruption")
            self.notes.append(f"closing the dome failed: {close_error}")

    def stop_after_cancel(self, cancelled: OrderCancelled) -> None:
        """Stop the mount (slew aborted, tracking off) and close the dome if this order
        opened it. A device failure here is noted (and logged); the dome is then the
        safety supervisor's to close."""
        self.event("mount", "stop_requested", reason=str(cancelled))
        try:
            self.rig.mount.abort()
            self.rig.mount.set_tracking(False)
            self.event("mount", "stopped")
        except ObservatoryError as stop_error:
            log.exception("the mount could not be stopped after a cancel")
            self.notes.append(f"stopping the mount failed: {stop_error}")
        if not self.dome_opened:
            return
        try:
            self.close_dome("order cancelled")
        except ObservatoryError as close_error:
            log.exception("the dome could not be closed after a cancel")
            self.notes.append(f"closing the dome failed: {close_error}")


Body = Callable[[OrderRun], dict[str, Any]]


def run_sequence(
    settings: Settings,
    claim: Claim,
    rig: TelescopeRig,
    publish: Publisher,
    body: Body,
    process_batch: bool = True,
) -> dict[str, Any]:
    """Run ``body`` inside a batch and the heartbeat; see the module docstring.

    Returns the body's outputs plus ``batch``, ``folder``, ``files`` and
    ``calibration_order_pk`` (None with ``process_batch`` false: the batch is kept but
    not sent to the processor, as for focus frames). Raises
    :class:`SequenceInterrupted` (chained) on any exception of the body; other
    ``BaseException``\\ s are re-raised after the batch is closed as failed.
    """
    with HeartbeatWriter(settings, claim.pk) as heartbeat:
        batch = BatchWriter(settings, claim.pk, claim.request)
        run = OrderRun(settings, claim, rig, batch, heartbeat)
        try:
            # Nothing is started (no slew, no dome opened) on a disk already at its reserve.
            require_free(settings, batch.folder, 0, f"{claim.request} into batch {batch.name}")
            run.read_dome_open()
            outputs = body(run)
        except OrderCancelled as cancelled:
            return _end_cancelled(run, cancelled, publish)
        except BaseException as error:
            heartbeat.details["phase"] = "interrupted"
            reason = f"{type(error).__name__}: {error}"
            batch.finish(interrupted=reason)
            run.secure_after(error)
            if not isinstance(error, Exception):
                raise
            notes = "".join(f"; {note}" for note in run.notes)
            raise SequenceInterrupted(
                f"{claim.request} interrupted after {batch.frame_count} frame(s) of batch"
                f" {batch.name}: {reason}{notes}",
                batch=batch.name,
                frames_written=batch.frame_count,
            ) from error
        # No cancel check from here: the sequence is done, its batch is whole.
        heartbeat.update(phase="finishing")
        manifest = batch.finish()
        receipt = submit_calibration(settings, batch, claim.pk, publish) if process_batch else None
    return {
        **outputs,
        # What the run had to note on its way (e.g. a wait for the open permit).
        **({"notes": run.notes} if run.notes else {}),
        "batch": batch.name,
        "folder": str(batch.folder),
        "files": len(manifest["files"]),
        "calibration_order_pk": receipt.pk if receipt is not None else None,
    }


def _end_cancelled(run: OrderRun, cancelled: OrderCancelled, publish: Publisher) -> dict[str, Any]:
    # The frames already written form a consistent batch that the processor still takes.
    run.heartbeat.details["phase"] = "cancelled"
    run.stop_after_cancel(cancelled)
    manifest = run.batch.finish(cancelled=str(cancelled))
    receipt = None
    if manifest["files"]:
        receipt = submit_calibration(run.settings, run.batch, run.claim.pk, publish)
    log.warning("%s: %s after %d frame(s)", run.claim.request, cancelled, run.batch.frame_count)
    return {
        CANCELLED_OUTPUT: str(cancelled),
        "notes": run.notes,
        "batch": run.batch.name,
        "folder": str(run.batch.folder),
        "files": len(manifest["files"]),
        "calibration_order_pk": None if receipt is None else receipt.pk,
    }


def submit_calibration(
    settings: Settings, batch: BatchWriter, parent_pk: int, publish: Publisher
) -> Receipt:
    """Submit the ``calibrate_file_batch`` order of a completed batch (once per batch)."""
    public_url = settings.fileserver.public_url
    url = f"{public_url.rstrip('/')}/batches/{batch.name}/" if public_url else str(batch.folder)
    data = {
        "id": f"calibrate-{batch.name}",
        "request": "calibrate_file_batch",
        "user": "telescope",
        "datetime": dt.datetime.now(dt.UTC).isoformat(),
        "url": url,
    }
    return submit(settings, data, publish, parent_pk=parent_pk)
