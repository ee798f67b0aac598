"""Darks as capture programs write them, through the processor's steps: NINA, SGP and
MaxIm write the wheel's slot as FILTER on darks too (or a 'Dark' blank slot), and
observatory data systems write the measured shutter time (60.012 s for a 60 s dark).
Darks are grouped by exposure time (within a shutter's jitter) and filter, and a dark of
any filter calibrates every filter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from sqlalchemy import select

from observatory.db.models import CalibratedFrame, MasterFrame, MasterKind
from observatory.db.session import dispose_engines, session_scope
from observatory.settings import Settings
from tests.unit.processor.conftest import make_settings, run_chain
from tests.unit.processor.rawframes import BIAS_LEVEL_ADU, primary, uint16, write_night

SHAPE = (32, 48)
DARK_ADU_PER_S = 2.0
SKY_ADU = 500.0
STEPS = ("bias", "dark", "flat_dark", "flat", "light")


@pytest.fixture
def settings(tmp_path: Path, _sqlite_migrated_file: Path) -> Iterator[Settings]:
    made = make_settings(tmp_path / "data", _sqlite_migrated_file)
    yield made
    dispose_engines(made.sqlalchemy_url)


def nina_frame(
    kind: str, seconds: float, signal: np.ndarray, minute: int, filter_name: str, seed: int
) -> list[Any]:
    """One frame as NINA writes it for a cooled CMOS camera: FILTER on every frame (the
    slot the wheel is in), EXPOSURE and EXPTIME, GAIN and OFFSET settings."""
    rng = np.random.default_rng(seed)
    data = uint16(BIAS_LEVEL_ADU + signal + rng.normal(0, 2.0, SHAPE))
    return [primary(
        data, IMAGETYP=kind, EXPOSURE=seconds, EXPTIME=seconds, XBINNING=1, YBINNING=1,
        FILTER=filter_name, GAIN=100, OFFSET=50, CCD_TEMP=-10.0, SET_TEMP=-10.0,
        DATE_OBS=f"2026-12-05T22:{minute:02d}:00.000", INSTRUME="ZWO ASI294MM Pro",
    )]  # fmt: skip


def nina_night(
    dark_filter: str, dark_times_s: tuple[float, ...], light_times_s: tuple[float, ...]
) -> dict[str, list[Any]]:
    """Biases and darks in ``dark_filter``'s slot, flats and lights in R."""
    response = 1.0 + 0.1 * np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]][1] / SHAPE[1]
    night: dict[str, list[Any]] = {}
    for k in range(3):
        zero = np.zeros(SHAPE)
        night[f"BIAS/bias_{k}.fits"] = nina_frame("BIAS", 0.0, zero, k, dark_filter, k)
    for k, seconds in enumerate(dark_times_s):
        dark = np.full(SHAPE, DARK_ADU_PER_S * seconds)
        night[f"DARK/dark_{k}.fits"] = nina_frame("DARK", seconds, dark, 5 + k, dark_filter, 10 + k)
    for k in range(3):
        flat = DARK_ADU_PER_S * 2.0 + 20000.0 * response
        night[f"FLAT/flat_R_{k}.fits"] = nina_frame("FLAT", 2.0, flat, 10 + k, "R", 20 + k)
    for k, seconds in enumerate(light_times_s):
        light = DARK_ADU_PER_S * seconds + SKY_ADU * response
        night[f"LIGHT/m31_R_{k}.fits"] = nina_frame("LIGHT", seconds, light, 20 + k, "R", 30 + k)
    return night


def master_darks(settings: Settings) -> list[tuple[str | None, float | None, str]]:
    with session_scope(settings.sqlalchemy_url) as session:
        rows = session.scalars(select(MasterFrame).where(MasterFrame.kind == MasterKind.DARK))
        return [(row.filter, row.exptime_s, row.path) for row in rows]


def calibrated_levels(settings: Settings) -> list[float]:
    with session_scope(settings.sqlalchemy_url) as session:
        frames = list(session.scalars(select(CalibratedFrame).order_by(CalibratedFrame.pk)))
        assert all(f.dark_pk is not None for f in frames)
        paths = [settings.products_dir / f.path for f in frames]
    return [float(np.median(fits.getdata(path))) for path in paths]


@pytest.mark.parametrize("dark_filter", ["L", "Dark"])
def test_darks_written_with_a_filter_calibrate_flats_and_lights_of_another(
    settings: Settings, dark_filter: str
) -> None:
    night = nina_night(dark_filter, (60.0, 60.0, 60.0), (60.0, 60.0))
    outcomes = run_chain(settings, write_night(settings.batches_dir / "nina", night), STEPS)
    for step in STEPS:
        assert all(o["ok"] for o in outcomes[step]), outcomes[step]
    # One master of the darks' filter, serving the flats and lights of R.
    assert master_darks(settings) == [
        (dark_filter, 60.0, f"nina/master_dark_{dark_filter}_60s_bin1_gain100_offset50_48x32.fits")
    ]
    # Bias, dark and flat removed: the sky flat-fielded to the flat's median response.
    assert calibrated_levels(settings) == pytest.approx([SKY_ADU * 1.05] * 2, rel=0.01)


def test_darks_of_measured_shutter_times_are_one_master_for_lights_of_that_time(
    settings: Settings,
) -> None:
    night = nina_night("Dark", (60.012, 59.997, 60.004), (60.003, 59.993))
    outcomes = run_chain(settings, write_night(settings.batches_dir / "ods", night), STEPS)
    assert [o["label"] for o in outcomes["dark"]] == [
        "60.004 s (59.997-60.012 s), filter Dark, binning 1, 48x32 px, gain 100, offset 50"
    ]
    for step in STEPS:
        assert all(o["ok"] for o in outcomes[step]), outcomes[step]
    # The group's exposure is the median of its frames'.
    assert master_darks(settings) == [
        ("Dark", 60.004, "ods/master_dark_Dark_60.004s_bin1_gain100_offset50_48x32.fits")
    ]
    # The light's own exposure scales the master exactly.
    scales = [o["outputs"]["dark_scale"] for o in outcomes["light"]]
    assert scales == pytest.approx([60.003 / 60.004, 59.993 / 60.004], rel=1e-9)
    assert calibrated_levels(settings) == pytest.approx([SKY_ADU * 1.05] * 2, rel=0.01)
