"""A seeded night for the report tests: small FITS products written here (masters without
WCS, calibrated frames with a real TAN WCS) and the rows that point at them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from observatory.db.models import (
    CalibratedFrame,
    DeviceEvent,
    Exposure,
    FileBatch,
    FileBatchState,
    MasterFrame,
    MasterKind,
    StepRun,
    StepState,
    WcsStatus,
    WorkOrder,
    WorkOrderState,
)
from observatory.db.session import session_scope

NIGHT = dt.date(2026, 11, 23)
EVENING = dt.datetime(2026, 11, 23, 18, 0, tzinfo=dt.UTC)
BATCH = "20261123-observation-1"
# Text that would break a page that forgot to escape it.
NASTY_ERROR = "solve-field failed: <script>alert('x')</script> & \"quoted\" <b>bold</b>"
CANCEL_REASON = "cancelled by <operator> & weather"


def tan_wcs(shape: tuple[int, int], ra_deg: float, dec_deg: float, scale_arcsec: float) -> WCS:
    """A TAN WCS centred on the frame, north up and east left, rotated by 10 degrees."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra_deg, dec_deg]
    wcs.wcs.crpix = [(shape[1] + 1) / 2, (shape[0] + 1) / 2]
    scale_deg, angle = scale_arcsec / 3600, np.radians(10.0)
    wcs.wcs.cd = scale_deg * np.array(
        [[-np.cos(angle), np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    )
    return wcs


def write_frame(
    path: Path, shape: tuple[int, int], *, wcs: WCS | None = None, seed: int = 0
) -> Path:
    """Noise around 1000 with a few stars; float32, with the WCS in the header if given."""
    rng = np.random.default_rng(seed)
    data = rng.normal(1000.0, 10.0, shape).astype(np.float32)
    for row, col in rng.uniform(5, min(shape) - 5, (8, 2)).astype(int):
        data[row - 1 : row + 2, col - 1 : col + 2] += 500.0
    header = wcs.to_header() if wcs is not None else fits.Header()
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.PrimaryHDU(data, header=header).writeto(path, overwrite=True)
    return path


@dataclass
class SeededNight:
    master_pks: list[int]
    frame_pks: list[int]
    missing_master_path: str


def seed_night(
    url: str, products_dir: Path, shape: tuple[int, int] = (120, 160), n_frames: int = 2
) -> SeededNight:
    """One night: a telescope order, a calibration order with a failed astrometry step, a
    cancelled order, three masters (one whose file is missing), ``n_frames`` (at least 2)
    calibrated frames, the second not solved, dome events. Also an order of the night
    before, which the report must leave out."""
    with session_scope(url) as session:
        telescope = _order("observation-1", "observation", WorkOrderState.SUCCEEDED, EVENING)
        calibrate = _order(
            f"calibrate-{BATCH}", "calibrate_file_batch", WorkOrderState.PARTIAL, EVENING
        )
        calibrate.received_at = EVENING + dt.timedelta(hours=2)
        calibrate.state_reason = "astrometry failed"
        cancelled = _order("observation-2", "observation", WorkOrderState.CANCELLED, EVENING)
        cancelled.state_reason = CANCEL_REASON
        earlier = _order(
            "old-1", "dome_open", WorkOrderState.FAILED, EVENING - dt.timedelta(days=1)
        )
        earlier.state_reason = "yesterday's failure"
        session.add_all([telescope, calibrate, cancelled, earlier])
        session.flush()
        calibrate.parent_pk = telescope.pk
        for number, (step, state) in enumerate(
            [
                ("ingest", StepState.SUCCEEDED),
                ("bias", StepState.SUCCEEDED),
                ("astrometry", StepState.FAILED),
            ]
        ):
            started = calibrate.received_at + dt.timedelta(minutes=number)
            session.add(
                StepRun(
                    work_order_pk=calibrate.pk,
                    step=step,
                    state=state,
                    started_at=started,
                    ended_at=started + dt.timedelta(seconds=30),
                    worker="processor@host",
                    error=NASTY_ERROR if state is StepState.FAILED else None,
                    traceback="Traceback (most recent call last):\n  <frame>"
                    if state is StepState.FAILED
                    else None,
                )
            )
        batch = FileBatch(
            name=BATCH,
            path="/nowhere",
            work_order_pk=telescope.pk,
            state=FileBatchState.COMPLETE,
            created_at=EVENING + dt.timedelta(minutes=5),
        )
        session.add(batch)
        session.flush()
        masters = []
        for kind, exptime_s, filter_ in [
            (MasterKind.BIAS, 0.0, None),
            (MasterKind.DARK, 30.0, None),
            (MasterKind.FLAT, 1.0, "R"),
        ]:
            relative = f"{BATCH}/master_{kind}.fits"
            if kind is not MasterKind.FLAT:
                write_frame(products_dir / relative, shape, seed=len(masters))
            master = MasterFrame(
                kind=kind,
                file_batch_pk=batch.pk,
                filter=filter_,
                exptime_s=exptime_s,
                naxis1=shape[1],
                naxis2=shape[0],
                path=relative,
                n_inputs=5,
                inputs=[],
                stats={"median": 1000.0, "std": 10.25},
                method="median",
                date_obs=EVENING,
            )
            session.add(master)
            masters.append(master)
        frames = []
        statuses = [WcsStatus.SOLVED, WcsStatus.FAILED] + [WcsStatus.SOLVED] * (n_frames - 2)
        for number, status in enumerate(statuses):
            raw = f"light_R_30s_{number + 1:04d}.fits"
            exposure = Exposure(
                file_batch_pk=batch.pk,
                path=raw,
                imagetyp="light",
                exptime_s=30.0,
                filter="R",
                date_obs=EVENING + dt.timedelta(hours=1, minutes=number),
                object="M 42 <Orion>",
            )
            session.add(exposure)
            session.flush()
            relative = f"{BATCH}/calibrated_{number + 1:04d}.fits"
            # The unsolved frame's header holds the pointing guess, which must not be drawn.
            wcs = tan_wcs(shape, 83.82, -5.39, 1.5) if status is WcsStatus.SOLVED else None
            guess = tan_wcs(shape, 83.0, -5.0, 1.5)
            write_frame(products_dir / relative, shape, wcs=wcs or guess, seed=10 + number)
            frame = CalibratedFrame(
                exposure_pk=exposure.pk,
                path=relative,
                wcs_status=status,
                ra_center_deg=83.82 if wcs else None,
                dec_center_deg=-5.39 if wcs else None,
                pixel_scale_arcsec=1.5 if wcs else None,
                solve_time_s=2.5 if wcs else None,
                stats={"median": 50.0},
                # The second frame was calibrated under "skip" without its flat.
                corrections={"applied": ["bias", "dark"], "not_needed": {},
                             "missing": {"flat": "no master flat for filter R"}}
                if number == 1 else None,
                incomplete=number == 1,
            )  # fmt: skip
            session.add(frame)
            frames.append(frame)
        for minutes, device, event in [
            (0, "dome", "shutter_opened"),
            (30, "camera", "exposure_started"),
            (200, "safetymonitor", "unsafe"),
            (201, "dome", "shutter_closed"),
        ]:
            session.add(
                DeviceEvent(
                    at=EVENING + dt.timedelta(minutes=minutes),
                    device=device,
                    event=event,
                    details={"note": "<ok>"},
                )
            )
        session.flush()
        return SeededNight(
            master_pks=[m.pk for m in masters],
            frame_pks=[f.pk for f in frames],
            missing_master_path=masters[2].path,
        )


def _order(
    order_id: str, request: str, state: WorkOrderState, received_at: dt.datetime
) -> WorkOrder:
    return WorkOrder(
        order_id=order_id,
        user="tests",
        request=request,
        payload={"id": order_id, "request": request},
        state=state,
        received_at=received_at,
        started_at=received_at + dt.timedelta(seconds=1),
        finished_at=received_at + dt.timedelta(minutes=10),
    )
