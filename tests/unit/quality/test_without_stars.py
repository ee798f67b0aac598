"""A frame a real night may hold without a single star (clouds, the dome closed, the
cap on): its quality figures are computed where they can be and say why not where they
cannot, instead of a crash or an empty record."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from observatory.platesolve.frame import solve_frame
from observatory.platesolve.hints import Hints
from observatory.quality.assess import Observing, assess, quality_cards
from observatory.settings import QualitySettings, Settings

EVENING = dt.datetime(2026, 12, 5, 22, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("noise", lambda rng: rng.normal(300.0, 12.0, (256, 384)).astype(np.float32)),
        ("constant", lambda rng: np.full((256, 384), 42.0, dtype=np.float32)),
    ],
)
def test_a_frame_without_stars_gets_its_figures_and_says_why_the_rest_are_missing(
    name: str, make: object
) -> None:
    data = make(np.random.default_rng(5))  # type: ignore[operator]
    hints = Hints(83.82, -5.39, 2.0, 1.5)
    outcome = solve_frame(Settings(), data, hints, path=None)
    observing = Observing(
        exposure_s=30.0, filter_name="R", mid_exposure_utc=EVENING, gain_e_per_adu=None,
        saturation_adu=64535.0, scale_arcsec=1.5, site_deg=(37.2, -2.5),
        pointing_deg=(83.82, -5.39),
    )  # fmt: skip
    quality = assess(outcome, observing, QualitySettings(max_fwhm_arcsec=3.0))

    assert outcome.solution is None and quality.stars == 0
    assert quality.fwhm_arcsec is None and quality.zero_point_mag is None
    assert quality.background_adu == pytest.approx(float(np.median(data)), abs=1.0)
    assert quality.airmass is not None  # the pointing still gives it
    assert "no FWHM: no unsaturated, isolated star well above the noise" in quality.notes
    assert "no zero point: the frame is not plate-solved" in quality.notes
    assert "no sky in e-/s/arcsec2: the gain is unknown" in quality.notes
    assert quality.flags == ()  # nothing measured is nothing to flag
    cards = quality_cards(quality)
    assert cards["NSTARS"] == 0 and "FWHM" not in cards
