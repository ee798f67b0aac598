"""Plate solving a simulator frame: in process, and through the solve-field fallback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from astropy.io import fits

from observatory.bench.skyframes import SkyFrame
from observatory.platesolve.frame import ENGINE, SOLVE_FIELD, solve_frame
from observatory.platesolve.hints import Hints, hints_from_header
from observatory.settings import Settings
from observatory.simulator.sky.projection import angular_separation_deg
from tests.unit.platesolve.conftest import require_engine


def centre_error_arcsec(frame: SkyFrame, ra_deg: float, dec_deg: float) -> float:
    return 3600.0 * angular_separation_deg(ra_deg, dec_deg, *frame.true_centre_deg)


def test_engine_solves_a_simulator_frame_in_process(
    sky_frame: SkyFrame, settings: Settings
) -> None:
    require_engine()
    hints = hints_from_header(sky_frame.header, settings)
    outcome = solve_frame(settings, sky_frame.data, hints, path=None)
    solution = outcome.solution
    assert solution is not None and solution.solver == ENGINE
    assert centre_error_arcsec(sky_frame, solution.ra_center_deg, solution.dec_center_deg) < 0.5
    assert solution.pixel_scale_arcsec == pytest.approx(sky_frame.scale_arcsec, rel=1e-3)
    assert solution.matched_stars >= 10
    assert solution.rms_arcsec is not None and solution.rms_arcsec < 1.0
    assert solution.wcs_header["CTYPE1"].startswith("RA---TAN")
    assert outcome.matches is not None
    assert all("MAG_VT" in star for star in outcome.matches.star_metadata)


def test_a_wrong_scale_hint_leaves_the_frame_unsolved_not_wrong(
    sky_frame: SkyFrame, settings: Settings
) -> None:
    require_engine()
    ra_deg, dec_deg = sky_frame.true_centre_deg
    hints = Hints(ra_deg, dec_deg, radius_deg=1.0, scale_arcsec=sky_frame.scale_arcsec * 3)
    assert solve_frame(settings, sky_frame.data, hints, path=None).solution is None


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::astropy.wcs.FITSFixedWarning")
@pytest.mark.skipif(shutil.which("solve-field") is None, reason="astrometry.net is not installed")
def test_solve_field_solves_what_the_engine_cannot(
    sky_frame: SkyFrame, sky_frame_file: Path, settings: Settings, tmp_path: Path
) -> None:
    # No index files for the engine: the frame goes to solve-field, which has its own.
    no_index = {"index_glob": str(tmp_path / "none" / "index-*.fits")}
    settings = settings.model_copy(
        update={"processor": settings.processor.model_copy(update=no_index)}
    )
    hints = hints_from_header(fits.getheader(sky_frame_file), settings)
    outcome = solve_frame(settings, sky_frame.data, hints, path=sky_frame_file)
    solution = outcome.solution
    assert solution is not None and solution.solver == SOLVE_FIELD
    assert centre_error_arcsec(sky_frame, solution.ra_center_deg, solution.dec_center_deg) < 2.0
    assert solution.matched_stars >= 10 and outcome.matches is None
