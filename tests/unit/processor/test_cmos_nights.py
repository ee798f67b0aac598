"""Nights of a cooled CMOS camera as NINA leaves them: dark flats of the flats' exposure,
filter cards as the wheel writes them, and nights without biases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from sqlalchemy import select

from observatory.calibration import central_region
from observatory.db.models import BIAS_INCLUDED_STAT, CalibratedFrame, MasterFrame
from observatory.db.session import dispose_engines, session_scope
from observatory.settings import Settings
from tests.unit.processor.conftest import make_settings, run_chain
from tests.unit.processor.rawframes import CMOS_SHAPE, CMOS_SKY_ADU, cmos_night, write

STEPS = ("bias", "dark", "flat_dark", "flat", "light")
# What a light calibrated with its own darks and flats reads: the sky at the flat's centre.
_, _X = np.mgrid[0 : CMOS_SHAPE[0], 0 : CMOS_SHAPE[1]]
_RESPONSE = 1.0 + 0.1 * _X / CMOS_SHAPE[1]
EXPECTED_ADU = CMOS_SKY_ADU * float(np.median(_RESPONSE[central_region(CMOS_SHAPE, 0.5)]))


@pytest.fixture
def data_settings(tmp_path: Path, _sqlite_migrated_file: Path) -> Iterator[Settings]:
    made = make_settings(tmp_path / "data", _sqlite_migrated_file)
    yield made
    dispose_engines(made.sqlalchemy_url)


def calibrate(settings: Settings, night: dict[str, list[Any]]) -> dict[str, list[dict[str, Any]]]:
    """The night written as NINA leaves it (subfolders, no manifest), run through the steps."""
    folder = settings.batches_dir / "cmos-night"
    for name, hdus in night.items():
        write(folder / name, hdus)
    return run_chain(settings, str(folder), STEPS)


def calibrated_lights(settings: Settings) -> list[tuple[CalibratedFrame, np.ndarray]]:
    with session_scope(settings.sqlalchemy_url) as session:
        frames = list(session.scalars(select(CalibratedFrame).order_by(CalibratedFrame.path)))
        session.expunge_all()
    return [(f, fits.getdata(settings.products_dir / f.path)) for f in frames]


@pytest.mark.parametrize("written", [3, "  Ha"], ids=["wheel-slot-number", "padded-name"])
def test_a_filter_card_as_the_wheel_writes_it_matches_its_flat(
    data_settings: Settings, written: Any
) -> None:
    outcomes = calibrate(data_settings, cmos_night(filter_value=written))
    assert [o["ok"] for o in outcomes["light"]] == [True, True], outcomes["light"]
    name = str(written).strip()
    for frame, data in calibrated_lights(data_settings):
        assert fits.getheader(data_settings.products_dir / frame.path)["FILTER"] == name
        assert abs(float(np.median(data)) - EXPECTED_ADU) < 2.0


def flat_dark_header(settings: Settings, index: int) -> fits.Header:
    path = settings.products_dir / f"cmos-night/flat_dark/FLAT/flat_{index}.fits"
    return fits.getheader(path)


@pytest.mark.parametrize("written", ["DARKFLAT", "Dark Flat", "FLATDARK", "Flat Dark"])
def test_dark_flats_make_the_dark_of_the_flats_exposure(
    data_settings: Settings, written: str
) -> None:
    outcomes = calibrate(data_settings, cmos_night(darkflat=written))
    assert all(o["ok"] for units in outcomes.values() for o in units), outcomes
    with session_scope(data_settings.sqlalchemy_url) as session:
        darks = sorted(
            (m.exptime_s, m.n_inputs)
            for m in session.scalars(select(MasterFrame).where(MasterFrame.kind == "dark"))
        )
    assert darks == [(2.0, 3), (60.0, 3)]
    for index in range(3):
        header = flat_dark_header(data_settings, index)
        assert (header["DARKFILE"], header["DARKSCAL"]) == (
            "cmos-night/master_dark_2s_bin1_36x24.fits", 1.0,
        )  # fmt: skip
    # The glow of the 2 s darks is taken from the flats: the lights come out at the sky.
    for _, data in calibrated_lights(data_settings):
        assert abs(float(np.median(data)) - EXPECTED_ADU) < 2.0


@pytest.fixture(params=["fail", "skip"])
def rule_settings(
    request: pytest.FixtureRequest, tmp_path: Path, _sqlite_migrated_file: Path
) -> Iterator[Settings]:
    made = make_settings(
        tmp_path / "data", _sqlite_migrated_file, missing_calibrations=request.param
    )
    yield made
    dispose_engines(made.sqlalchemy_url)


def test_a_night_without_biases_is_calibrated_with_darks_of_its_own_exposures(
    rule_settings: Settings,
) -> None:
    outcomes = calibrate(rule_settings, cmos_night(biases=False))
    assert all(o["ok"] for units in outcomes.values() for o in units), outcomes
    assert outcomes["bias"] == []
    for dark in outcomes["dark"]:
        assert "no master bias" in dark["outputs"]["bias_included"]
        header = fits.getheader(rule_settings.products_dir / dark["outputs"]["path"])
        assert header["BIASINCL"] is True and "BIASFILE" not in header
    with session_scope(rule_settings.sqlalchemy_url) as session:
        rows = session.scalars(select(MasterFrame).where(MasterFrame.kind == "dark")).all()
        # The rows say so too, for choosing a dark to scale without reading each file.
        assert rows and all(row.stats[BIAS_INCLUDED_STAT] is True for row in rows)
    for index in range(3):
        header = flat_dark_header(rule_settings, index)
        assert header["DARKFILE"] == "cmos-night/master_dark_2s_bin1_36x24.fits"
        assert header["DARKSCAL"] == 1.0 and "BIASFILE" not in header
        history = "".join(str(line) for line in header["HISTORY"])
        assert (
            "bias: not subtracted from this flat: the master dark cmos-night/master_dark_2s"
            in history
        )
    lights = calibrated_lights(rule_settings)
    assert len(lights) == 2
    for frame, data in lights:
        assert frame.corrections["applied"] == ["dark", "flat"] and not frame.incomplete
        assert "holds the bias level" in frame.corrections["not_needed"]["bias"]
        header = fits.getheader(rule_settings.products_dir / frame.path)
        assert (header["CALSTAT"], header["CALMISS"], header["DARKSCAL"]) == ("DF", False, 1.0)
        assert abs(float(np.median(data)) - EXPECTED_ADU) < 2.0


def test_without_biases_a_dark_of_another_exposure_is_no_matching_dark(
    rule_settings: Settings,
) -> None:
    night = {name: hdus for name, hdus in cmos_night(biases=False).items()
             if not name.startswith("DARKFLAT/")}  # fmt: skip
    outcomes = calibrate(rule_settings, night)
    why = (
        "no matching dark for 2 s: cmos-night/master_dark_60s_bin1_36x24.fits is 60 s and "
        "holds the bias level (no master bias), so it cannot be scaled"
    )
    if rule_settings.processor.missing_calibrations == "fail":
        (flat_dark,) = outcomes["flat_dark"]
        assert not flat_dark["ok"] and flat_dark["error"] == f"MasterFrameMissing: {why}"
        return
    assert all(o["ok"] for units in outcomes.values() for o in units), outcomes
    # astropy cuts a long HISTORY line into cards of 72 characters.
    history = "".join(str(line) for line in flat_dark_header(rule_settings, 0)["HISTORY"])
    assert f"dark: not subtracted from this flat: {why}" in history
    assert "bias: not subtracted from this flat: no master bias for binning 1" in history
