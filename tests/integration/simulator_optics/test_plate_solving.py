"""astrometry.net (solve-field, and its engine in process) solves a simulated exposure at
the simulator's true pointing.

The fields are pointed at hour angles, so which stars they hold depends on the simulated
clock: the module's simulator starts at a fixed time (not at the wall clock's), so every
run solves the same fields, and a failure can be run again.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from observatory.platesolve.frame import ENGINE, engine_usable, solve_frame
from observatory.platesolve.hints import Hints
from observatory.settings import Settings
from observatory.simulator.server import SimulatorProcess, start_simulator_process
from observatory.simulator.sky.projection import angular_separation_deg
from tests.integration.simulator_optics.conftest import TIME_SCALE, Rig

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SOLVE_TIMEOUT_S = 180
# A December evening at the simulated site: the fields below are then near RA 0.9 h
# (Dec 20) and 23.2 h (Dec 55).
START_UTC = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorProcess]:
    with start_simulator_process(
        time_scale=TIME_SCALE, discovery_port=0, start_utc=START_UTC
    ) as process:
        yield process


@pytest.mark.filterwarnings("ignore::astropy.wcs.FITSFixedWarning")
@pytest.mark.skipif(shutil.which("solve-field") is None, reason="astrometry.net is not installed")
@pytest.mark.parametrize(("hours_east", "declination_deg"), [(1.0, 20.0), (-0.7, 55.0)])
def test_solved_centre_is_the_true_pointing(
    rig: Rig, tmp_path: Path, hours_east: float, declination_deg: float
) -> None:
    rig.open_dome()
    rig.focus()
    rig.point(hours_east, declination_deg)
    rig.expose(10.0)
    image = np.frombuffer(rig.camera.ImageArrayRaw, dtype=np.uint16)
    info = rig.camera.ImageArrayInfo
    image = image.reshape(info.Dimension1, info.Dimension2)  # [x, y]
    truth = rig.camera_truth()
    true_ra, true_dec = truth["last_exposure"]["true_pointing_deg"]
    scale = truth["pixel_scale_arcsec"]
    frame = tmp_path / "light.fits"
    fits.PrimaryHDU(image.T).writeto(frame)  # FITS holds [y, x]; no WCS in the header
    reported_ra_deg = rig.telescope.RightAscension * 15.0
    command = [
        "solve-field", "--no-plots", "--overwrite", "--no-remove-lines",
        "--scale-units", "arcsecperpix",
        "--scale-low", f"{scale * 0.95:.4f}", "--scale-high", f"{scale * 1.05:.4f}",
        "--ra", f"{reported_ra_deg:.6f}", "--dec", f"{rig.telescope.Declination:.6f}",
        "--radius", "1", "--cpulimit", str(SOLVE_TIMEOUT_S), "--dir", str(tmp_path), str(frame),
    ]  # fmt: skip
    run = subprocess.run(
        command, check=True, capture_output=True, text=True, timeout=SOLVE_TIMEOUT_S
    )
    solution = tmp_path / "light.wcs"
    assert solution.exists(), (
        f"solve-field did not solve the simulated frame at RA {reported_ra_deg:.4f} deg, "
        f"Dec {rig.telescope.Declination:.4f} deg (true {true_ra:.4f}, {true_dec:.4f}); "
        f"its output ends:\n{run.stdout[-3000:]}{run.stderr[-1000:]}"
    )
    wcs = WCS(fits.getheader(solution))
    centre_x, centre_y = (info.Dimension1 - 1) / 2.0, (info.Dimension2 - 1) / 2.0
    solved_ra, solved_dec = wcs.all_pix2world([[centre_x, centre_y]], 0)[0]
    error_arcsec = angular_separation_deg(solved_ra, solved_dec, true_ra, true_dec) * 3600.0
    assert error_arcsec < 2.0


@pytest.mark.parametrize(("hours_east", "declination_deg"), [(1.0, 20.0), (-0.7, 55.0)])
def test_the_in_process_solver_finds_the_true_pointing(
    rig: Rig, hours_east: float, declination_deg: float
) -> None:
    """A raw frame read over Alpaca, hinted as the processor hints it (the mount's RA/Dec,
    the plate scale), solved by astrometry.net's engine in this process."""
    if not engine_usable(Settings()):
        pytest.skip("the astrometry package or its index files are not installed")
    rig.open_dome()
    rig.focus()
    rig.point(hours_east, declination_deg)
    rig.expose(10.0)
    image = np.frombuffer(rig.camera.ImageArrayRaw, dtype=np.uint16)
    info = rig.camera.ImageArrayInfo  # filled in by the read above
    image = image.reshape(info.Dimension1, info.Dimension2).T  # [y, x], as FITS holds it
    truth = rig.camera_truth()
    true_ra, true_dec = truth["last_exposure"]["true_pointing_deg"]
    hints = Hints(
        rig.telescope.RightAscension * 15.0, rig.telescope.Declination, 1.0,
        truth["pixel_scale_arcsec"],
    )  # fmt: skip
    solution = solve_frame(Settings(), image, hints, path=None).solution
    assert solution is not None and solution.solver == ENGINE
    error_arcsec = 3600.0 * angular_separation_deg(
        solution.ra_center_deg, solution.dec_center_deg, true_ra, true_dec
    )
    assert error_arcsec < 1.0
