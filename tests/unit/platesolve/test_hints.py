"""Hints from the cards capture programs write."""

from __future__ import annotations

import pytest

from observatory.platesolve.hints import HintUnreadable, hints_from_header
from observatory.settings import ProcessorSettings, Settings


def test_sexagesimal_ra_is_hours_and_the_scale_comes_from_pixel_and_focal_length() -> None:
    header = {"OBJCTRA": "10 00 00", "OBJCTDEC": "+20 30 00", "XPIXSZ": 9.0, "FOCALLEN": 530.4}
    hints = hints_from_header(header, Settings())
    assert hints.ra_deg == pytest.approx(150.0) and hints.dec_deg == pytest.approx(20.5)
    assert hints.scale_arcsec == pytest.approx(3.5, rel=1e-3)


def test_without_optics_cards_the_scale_is_the_setting_times_binning() -> None:
    settings = Settings(processor=ProcessorSettings(pixel_scale_arcsec=1.2))
    hints = hints_from_header({"RA": 10.0, "DEC": -5.0, "XBINNING": 2}, settings)
    assert (hints.ra_deg, hints.dec_deg, hints.scale_arcsec) == (10.0, -5.0, pytest.approx(2.4))
    assert hints_from_header({}, Settings()).has_position is False


def test_a_card_that_is_not_an_angle_is_named() -> None:
    with pytest.raises(HintUnreadable, match="RA = 'north'"):
        hints_from_header({"RA": "north", "DEC": 10.0}, Settings())
