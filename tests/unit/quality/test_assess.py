"""Frame quality against the simulator's truth, and the flags the thresholds raise."""

from __future__ import annotations

import datetime as dt

import pytest

from observatory.bench.skyframes import SkyFrame, SkyFrameMaker
from observatory.platesolve.frame import solve_frame
from observatory.platesolve.hints import hints_from_header
from observatory.quality.airmass import airmass
from observatory.quality.assess import FrameQuality, Observing, assess, flags, quality_cards
from observatory.settings import QualitySettings, Settings
from observatory.simulator.sky.catalogue import CatalogueUnavailable
from tests.unit.platesolve.conftest import require_engine, sky_frame

__all__ = ["sky_frame"]  # fixture
# The simulator's raw ceiling less its bias level (1000 ADU).
SATURATION_ADU = 65535.0 - 1000.0


def measure(frame: SkyFrame, thresholds: QualitySettings | None = None) -> FrameQuality:
    settings = Settings()
    hints = hints_from_header(frame.header, settings)
    outcome = solve_frame(settings, frame.data, hints, path=None)
    observing = Observing(
        exposure_s=float(frame.header["EXPTIME"]), filter_name="L",
        mid_exposure_utc=None, gain_e_per_adu=frame.gain_e_per_adu,
        saturation_adu=SATURATION_ADU, scale_arcsec=hints.scale_arcsec, site_deg=None,
        pointing_deg=None,
    )  # fmt: skip
    return assess(outcome, observing, thresholds or QualitySettings())


def test_fwhm_and_zero_point_match_what_the_simulator_renders(sky_frame: SkyFrame) -> None:
    require_engine()
    quality = measure(sky_frame)
    assert quality.fwhm_arcsec == pytest.approx(sky_frame.psf_fwhm_arcsec, rel=0.10)
    assert quality.zero_point_e_mag == pytest.approx(sky_frame.zero_point_mag, abs=0.05)
    assert quality.zero_point_stars >= 10 and quality.zero_point_scatter_mag < 0.05
    assert quality.ellipticity < 0.1 and quality.flags == ()
    # The L filter's sky (21.3 mag/arcsec^2 in config) through the frame's own zero point.
    assert quality.sky_mag_per_arcsec2 == pytest.approx(21.3, abs=0.1)
    assert quality.limiting_mag > 15.0 and quality.stars > quality.shape_stars > 10
    assert quality.saturated_stars > 0  # Tycho-2's brightest stars, at 30 s
    cards = quality_cards(quality)
    assert cards["QFLAGS"] == "none" and cards["FWHM"] == pytest.approx(
        quality.fwhm_arcsec, abs=1e-3
    )


def test_an_unsolved_frame_says_why_it_has_no_zero_point(sky_frame: SkyFrame) -> None:
    require_engine()
    settings = Settings()
    hints = hints_from_header(sky_frame.header, settings)
    wrong_scale = type(hints)(hints.ra_deg, hints.dec_deg, hints.radius_deg, 21.0)
    outcome = solve_frame(settings, sky_frame.data, wrong_scale, path=None)
    assert outcome.solution is None
    observing = Observing(30.0, "L", None, None, SATURATION_ADU, 21.0, None, None)
    quality = assess(outcome, observing, QualitySettings())
    assert quality.zero_point_mag is None and quality.fwhm_px is not None
    assert "no zero point: the frame is not plate-solved" in quality.notes
    assert "no sky in e-/s/arcsec2: the gain is unknown" in quality.notes


def test_trailed_stars_are_flagged_and_the_flag_says_why() -> None:
    require_engine()
    try:
        maker = SkyFrameMaker(1024, 7.0)
    except CatalogueUnavailable as error:
        pytest.skip(f"the simulator has no star catalogue here: {error}")
    trailed = maker.frame(150.0, 20.0, trail_arcsec=60.0)
    quality = measure(trailed, QualitySettings(max_ellipticity=0.3))
    assert quality.ellipticity > 0.3
    assert len(quality.flags) == 1 and quality.flags[0].startswith("trailed: ellipticity ")


def test_each_threshold_raises_its_own_flag() -> None:
    figures = {"fwhm_arcsec": 9.0, "ellipticity": 0.1, "zero_point_mag": 17.9,
               "sky_mag_per_arcsec2": 17.5}  # fmt: skip
    limits = QualitySettings(
        max_fwhm_arcsec=6.0, max_ellipticity=0.3, min_zero_point_mag={"R": 18.5},
        min_sky_mag_per_arcsec2=18.0,
    )  # fmt: skip
    raised = flags(figures, "R", limits)
    assert [flag.split(":")[0] for flag in raised] == [
        "out of focus", "low transparency", "bright sky",
    ]  # fmt: skip
    assert flags(figures, "G", QualitySettings()) == ()  # no zero point limit for G
    assert flags({"fwhm_arcsec": None}, "R", limits) == ()


def test_airmass_is_one_at_the_zenith_and_about_two_at_thirty_degrees() -> None:
    when = dt.datetime(2026, 12, 6, 0, 0, tzinfo=dt.UTC)
    from observatory.ephemeris import local_sidereal_time_deg

    lst = local_sidereal_time_deg(when, 0.0)
    assert airmass(lst, 40.0, when, 40.0, 0.0) == pytest.approx(1.0, abs=0.01)
    assert airmass(lst, 40.0 - 60.0, when, 40.0, 0.0) == pytest.approx(1.99, abs=0.03)
    assert airmass(lst, -80.0, when, 40.0, 0.0) is None


@pytest.mark.parametrize(
    ("notes", "comment"),
    [(("no zero point",), "why quality figures are missing"),
     (("no sky in e-/s/arcsec2: the gain is unknown",), ""),
     (("no FWHM: no unsaturated, isolated star well above the noise", "no zero point"),
      "why quality figures are missing")],
)  # fmt: skip
def test_a_text_card_is_written_whole_without_a_warning(
    notes: tuple[str, ...], comment: str, recwarn: pytest.WarningsRecorder
) -> None:
    """A comment that does not fit beside its text on one card is left off (astropy
    would cut it and warn, slowly, for every frame); a text continued on more cards
    keeps it."""
    quality = FrameQuality(
        None, None, None, 100.0, 5.0, None, None, 0, 0, 0, None, None, None, None, 0, None,
        (), notes,
    )  # fmt: skip
    header = quality_cards(quality)
    assert len(header.tostring()) % 80 == 0
    assert header["QNOTES"] == "; ".join(notes) and header.comments["QNOTES"] == comment
    assert [str(w.message) for w in recwarn if "too long" in str(w.message)] == []
