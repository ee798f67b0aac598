"""The ``astrometry`` step: plate-solve a calibrated frame (see :mod:`observatory.platesolve`)
and measure its quality (see :mod:`observatory.quality`) from the same sources.

The frame is read once; its sources are solved in process by astrometry.net's engine,
with ``solve-field`` as the fallback, with the mount's RA/Dec and the plate scale as
hints. A frame that does not solve is a recorded outcome (``wcs_status = unsolved``), not
an error; a crashed solver is an error. A frame the quality thresholds flag is kept; its
flags say why.
"""

from __future__ import annotations

from typing import Any

from astropy.io import fits
from sqlalchemy import select

from observatory import calibration
from observatory.db.models import CalibratedFrame, Exposure, MasterFrame, WcsStatus
from observatory.db.session import read_scope, session_scope
from observatory.platesolve.frame import (
    PlateSolution,
    engine_usable,
    solve_field_usable,
    solve_frame,
)
from observatory.platesolve.hints import Hints, plate_scale_arcsec
from observatory.processor.plan import exposures_of, file_batch
from observatory.processor.products import product_here
from observatory.processor.quality import observing_for
from observatory.quality.assess import assess, quality_cards
from observatory.settings import Settings


def solution_cards(solution: PlateSolution | None, seconds: float) -> fits.Header:
    """The header cards a solve leaves on its frame: the WCS, WCSSTAT, SOLVTIME and,
    when solved, SOLVER, WCSMATCH and WCSRMS."""
    status = WcsStatus.SOLVED if solution else WcsStatus.UNSOLVED
    cards = fits.Header()
    if solution is not None:
        cards.update(solution.wcs_header)
    cards["WCSSTAT"] = (status.value, "plate solution status")
    cards["SOLVTIME"] = (round(seconds, 3), "[s] time taken by the plate solve")
    if solution is not None:
        cards["SOLVER"] = (solution.solver, "plate solver that found the solution")
        cards["WCSMATCH"] = (solution.matched_stars, "catalogue stars matched")
        if solution.rms_arcsec is not None:
            cards["WCSRMS"] = (round(solution.rms_arcsec, 4), "[arcsec] rms of the WCS fit")
    return cards


def solve_unit(settings: Settings, unit: dict[str, Any]) -> dict[str, Any]:
    """Solve one calibrated light, write the WCS into its header and record the outcome."""
    with read_scope(settings.sqlalchemy_url) as session:
        batch = file_batch(session, unit["batch"])
        (exposure,) = exposures_of(session, batch.pk, "astrometry", unit["group"])
        frame = session.scalars(
            select(CalibratedFrame).where(CalibratedFrame.exposure_pk == exposure.pk)
        ).one()
        frame_pk, relative, origin_url = frame.pk, frame.path, frame.origin_url
        bias = session.get(MasterFrame, frame.bias_pk) if frame.bias_pk is not None else None
        bias_stats = dict(bias.stats) if bias is not None else None
    # The light step may have run on another host: fetch the frame from there.
    path = product_here(settings, relative, origin_url)
    with fits.open(path, memmap=False) as hdus:
        data, header = hdus[0].data, hdus[0].header.copy()
    hints = Hints(
        ra_deg=exposure.ra_deg,
        dec_deg=exposure.dec_deg,
        radius_deg=settings.processor.solve_radius_deg,
        scale_arcsec=plate_scale_arcsec(exposure.header, exposure.binning, settings),
    )
    outcome = solve_frame(settings, data, hints, path)
    solution = outcome.solution
    quality = assess(
        outcome, observing_for(settings, exposure, bias_stats, hints), settings.quality
    )
    header.update(solution_cards(solution, outcome.seconds))
    header.update(quality_cards(quality))
    calibration.write_product(path, data, header, overwrite=True)
    status = WcsStatus.SOLVED if solution else WcsStatus.UNSOLVED
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.get_one(CalibratedFrame, frame_pk)
        row.wcs_status = status
        # The copy with the WCS is the one written here.
        row.origin_url = settings.fileserver.public_url
        row.solve_time_s = outcome.seconds
        row.ra_center_deg = solution.ra_center_deg if solution else None
        row.dec_center_deg = solution.dec_center_deg if solution else None
        row.pixel_scale_arcsec = solution.pixel_scale_arcsec if solution else None
        row.matched_stars = solution.matched_stars if solution else None
        row.plate_solver = solution.solver if solution else None
        row.quality = quality.as_json()
        row.quality_flags = list(quality.flags)
    return {"exposure": exposure.path, "detector": exposure.detector,
            "wcs_status": status.value,
            "solve_time_s": round(outcome.seconds, 3),
            "solver": solution.solver if solution else None,
            "fwhm_arcsec": quality.as_json()["fwhm_arcsec"], "flags": list(quality.flags),
            "ra_center_deg": row.ra_center_deg, "dec_center_deg": row.dec_center_deg}  # fmt: skip


def solver_missing(settings: Settings) -> str | None:
    """Why this host cannot plate-solve (the reason recorded on a skipped step), or None."""
    if engine_usable(settings) or solve_field_usable(settings):
        return None
    return (
        f"neither the astrometry package with index files ({settings.processor.index_glob}) "
        f"nor {settings.processor.solve_field} is installed here (pip install astrometry; "
        "Debian packages astrometry.net and astrometry-data-tycho2-10-19-littleendian); "
        "frames keep no WCS"
    )


def mark_skipped(settings: Settings, batch_name: str) -> int:
    """Mark the batch's calibrated frames still waiting for a solution as skipped; returns
    how many."""
    with session_scope(settings.sqlalchemy_url) as session:
        batch = file_batch(session, batch_name)
        frames = session.scalars(
            select(CalibratedFrame)
            .join(Exposure, CalibratedFrame.exposure_pk == Exposure.pk)
            .where(
                Exposure.file_batch_pk == batch.pk,
                CalibratedFrame.wcs_status == WcsStatus.PENDING,
            )
        ).all()
        for frame in frames:
            frame.wcs_status = WcsStatus.SKIPPED
        return len(frames)
