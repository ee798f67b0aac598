"""Naming the detectors of a multi-extension file."""

from __future__ import annotations

from astropy.io import fits

from observatory.processor.detectors import detector_names
from observatory.processor.profiles import InstrumentProfile
from observatory.processor.readouts import Plane

DEFAULT = InstrumentProfile(name="default")


def planes(*cards: dict[str, object]) -> list[Plane]:
    return [Plane(k + 1, fits.Header(list(c.items())), (10, 10)) for k, c in enumerate(cards)]


def test_extname_names_each_detector() -> None:
    assert detector_names(planes({"EXTNAME": "im1"}, {"EXTNAME": "im2"}), DEFAULT) == [
        "im1",
        "im2",
    ]


def test_repeated_extname_takes_its_extver() -> None:
    sci = planes(*({"EXTNAME": "SCI", "EXTVER": k} for k in (1, 2, 3, 4)))
    assert detector_names(sci, DEFAULT) == ["SCI1", "SCI2", "SCI3", "SCI4"]


def test_ccdname_when_there_is_no_extname_and_unsafe_characters_are_replaced() -> None:
    named = planes({"CCDNAME": "ccd 1/a"}, {"CCDNAME": "ccd 2/a"})
    assert detector_names(named, DEFAULT) == ["ccd_1_a", "ccd_2_a"]


def test_missing_or_repeated_names_fall_back_to_the_hdu_index() -> None:
    assert detector_names(planes({"EXTNAME": "im1"}, {}), DEFAULT) == ["hdu1", "hdu2"]
    assert detector_names(planes({"CCDNUM": 3}, {"CCDNUM": 3}), DEFAULT) == ["hdu1", "hdu2"]
    assert detector_names(planes({"EXTNAME": "SCI"}, {"EXTNAME": "SCI"}), DEFAULT) == [
        "hdu1",
        "hdu2",
    ]


def test_the_first_card_that_names_every_extension_apart_wins() -> None:
    # The chip model in DETECTOR is the same for every CCD; CCDNUM tells them apart.
    named = planes(
        {"EXTNAME": "SCI", "DETECTOR": "e2v 231-84", "CCDNUM": 1},
        {"EXTNAME": "SCI", "DETECTOR": "e2v 231-84", "CCDNUM": 2},
    )
    assert detector_names(named, DEFAULT) == ["1", "2"]


def test_the_profile_chooses_the_card() -> None:
    profile = InstrumentProfile(name="cam", detector_cards=["CCDNUM"])
    named = planes({"EXTNAME": "x", "CCDNUM": 7}, {"EXTNAME": "y", "CCDNUM": 8})
    assert detector_names(named, profile) == ["7", "8"]
