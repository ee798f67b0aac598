"""The ``astrometry`` step: plate-solve a calibrated frame with astrometry.net.

``solve-field`` runs with the mount's RA/Dec and the plate scale as hints, in its own
process group that is killed entirely when ``processor.solve_timeout_s`` passes (it
spawns helpers that a plain kill would orphan). A frame that does not solve is a
recorded outcome (``wcs_status = unsolved``), not an error; a missing binary or a
crashed solver is an error.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning
from astropy.wcs.utils import proj_plane_pixel_scales
from sqlalchemy import select

from observatory import calibration
from observatory.db.models import CalibratedFrame, Exposure, WcsStatus
from observatory.db.session import session_scope
from observatory.processor.plan import exposures_of, file_batch
from observatory.processor.products import product_here
from observatory.settings import Settings

ARCSEC_PER_RADIAN = 206264.806
# The scale hint's range: header values are rarely better than this.
SCALE_TOLERANCE = 0.1


@dataclass(frozen=True)
class Solution:
    """A plate solution: the WCS header cards, the centre [deg] and scale [arcsec/px]."""

    wcs_header: fits.Header
    ra_center_deg: float
    dec_center_deg: float
    pixel_scale_arcsec: float


def plate_scale_arcsec(header: dict[str, Any], binning: int, settings: Settings) -> float | None:
    """Arcseconds per (binned) pixel: 206265 x XPIXSZ [um] / FOCALLEN [mm], where XPIXSZ
    is the binned pixel as capture programs write it; else the unbinned
    ``processor.pixel_scale_arcsec`` x binning; None when neither is known."""
    pixel_um, focal_mm = header.get("XPIXSZ"), header.get("FOCALLEN")
    if isinstance(pixel_um, int | float) and isinstance(focal_mm, int | float) and focal_mm > 0:
        return ARCSEC_PER_RADIAN * pixel_um * 1e-3 / focal_mm
    if settings.processor.pixel_scale_arcsec is not None:
        return settings.processor.pixel_scale_arcsec * binning
    return None


def solve_command(
    settings: Settings, image: Path, out_dir: Path, ra_deg: float | None, dec_deg: float | None,
    scale_arcsec: float | None,
) -> list[str]:  # fmt: skip
    command = [
        settings.processor.solve_field, "--no-plots", "--overwrite", "--dir", str(out_dir),
        "--cpulimit", str(max(1, int(settings.processor.solve_timeout_s))),
    ]  # fmt: skip
    if ra_deg is not None and dec_deg is not None:
        command += ["--ra", f"{ra_deg:.6f}", "--dec", f"{dec_deg:.6f}",
                    "--radius", f"{settings.processor.solve_radius_deg:g}"]  # fmt: skip
    if scale_arcsec is not None:
        command += ["--scale-units", "arcsecperpix",
                    "--scale-low", f"{scale_arcsec * (1 - SCALE_TOLERANCE):.4f}",
                    "--scale-high", f"{scale_arcsec * (1 + SCALE_TOLERANCE):.4f}"]  # fmt: skip
    return [*command, str(image)]


def run_solver(command: list[str], timeout_s: float) -> bool:
    """Run solve-field; True when it finished, False when it was killed at the timeout.

    Raises FileNotFoundError when the binary is missing and CalledProcessError when it
    exits with an error."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        output, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return False
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command, output)
    return True


def solve(settings: Settings, image: Path, exposure: Exposure) -> tuple[Solution | None, float]:
    """Solve ``image``; returns the solution (None when unsolved) and the time taken [s]."""
    scale = plate_scale_arcsec(exposure.header, exposure.binning, settings)
    with tempfile.TemporaryDirectory(prefix="solve-") as scratch:
        out_dir = Path(scratch)
        command = solve_command(settings, image, out_dir, exposure.ra_deg, exposure.dec_deg, scale)
        started = time.monotonic()
        finished = run_solver(command, settings.processor.solve_timeout_s)
        elapsed_s = time.monotonic() - started
        wcs_file = out_dir / f"{image.stem}.wcs"
        if not (finished and (out_dir / f"{image.stem}.solved").exists() and wcs_file.exists()):
            return None, elapsed_s
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = WCS(fits.getheader(wcs_file))
    shape = (exposure.naxis2 or 0, exposure.naxis1 or 0)
    centre = wcs.all_pix2world([[(shape[1] - 1) / 2.0, (shape[0] - 1) / 2.0]], 0)[0]
    scale_arcsec = float(np.mean(proj_plane_pixel_scales(wcs.celestial)) * 3600.0)
    header = wcs.to_header(relax=True)
    return Solution(header, float(centre[0]), float(centre[1]), scale_arcsec), elapsed_s


def solve_unit(settings: Settings, unit: dict[str, Any]) -> dict[str, Any]:
    """Solve one calibrated light, write the WCS into its header and record the outcome."""
    with session_scope(settings.sqlalchemy_url) as session:
        batch = file_batch(session, unit["batch"])
        (exposure,) = exposures_of(session, batch.pk, "astrometry", unit["group"])
        frame = session.scalars(
            select(CalibratedFrame).where(CalibratedFrame.exposure_pk == exposure.pk)
        ).one()
        frame_pk, relative, origin_url = frame.pk, frame.path, frame.origin_url
    # The light step may have run on another host: fetch the frame from there.
    path = product_here(settings, relative, origin_url)
    solution, elapsed_s = solve(settings, path, exposure)
    with fits.open(path, memmap=False) as hdus:
        data, header = hdus[0].data.copy(), hdus[0].header.copy()
    status = WcsStatus.SOLVED if solution else WcsStatus.UNSOLVED
    if solution is not None:
        header.update(solution.wcs_header)
    header["WCSSTAT"] = (status.value, "plate solution status")
    header["SOLVTIME"] = (round(elapsed_s, 3), "[s] time taken by solve-field")
    calibration.write_product(path, data, header, overwrite=True)
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.get_one(CalibratedFrame, frame_pk)
        row.wcs_status = status
        # The copy with the WCS is the one written here.
        row.origin_url = settings.fileserver.public_url
        row.solve_time_s = elapsed_s
        row.ra_center_deg = solution.ra_center_deg if solution else None
        row.dec_center_deg = solution.dec_center_deg if solution else None
        row.pixel_scale_arcsec = solution.pixel_scale_arcsec if solution else None
    return {"exposure": exposure.path, "wcs_status": status.value,
            "solve_time_s": round(elapsed_s, 3),
            "ra_center_deg": row.ra_center_deg, "dec_center_deg": row.dec_center_deg}  # fmt: skip


def solver_missing(settings: Settings) -> str | None:
    """Why this host cannot plate-solve (the reason recorded on a skipped step), or None."""
    if shutil.which(settings.processor.solve_field) is None:
        return (
            f"{settings.processor.solve_field} is not installed here (Debian packages "
            "astrometry.net and astrometry-data-tycho2-10-19-littleendian); frames keep no WCS"
        )
    return None


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
