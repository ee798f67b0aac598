"""A master calibrates only frames of its own camera setup: the gain and offset settings
a CMOS camera's capture program writes (NINA: GAIN=100, OFFSET=50), and the origin of a
subframe (MaxIm, NINA, ACP: XORGSUBF/YORGSUBF). A master of another setup is no master:
the frame fails with one line naming both setups, or under ``skip`` is calibrated
without it and says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from sqlalchemy import select

from observatory.db.models import CAMERA_SETUP_LENGTH, CalibratedFrame, MasterFrame
from observatory.db.session import dispose_engines, session_scope
from observatory.processor.cards import CardUnreadable
from observatory.processor.setups import camera_setup
from observatory.settings import Settings
from tests.unit.processor.conftest import make_settings, run_chain
from tests.unit.processor.rawframes import primary, uint16, write_night

SENSOR = (64, 96)
SKY_ADU = 500.0
STEPS = ("bias", "dark", "flat_dark", "flat", "light")
# Bias level and dark signal in 60 s of the camera at (gain, offset).
LEVELS = {(0, 10): (500.0, 30.0), (100, 50): (1000.0, 120.0)}
LOW, HIGH = "gain 0, offset 10", "gain 100, offset 50"


@pytest.fixture
def settings(tmp_path: Path, _sqlite_migrated_file: Path) -> Iterator[Settings]:
    made = make_settings(tmp_path / "data", _sqlite_migrated_file)
    yield made
    dispose_engines(made.sqlalchemy_url)


def cmos_frames(kind: str, gain: int, offset: int, count: int, minute: int) -> dict[str, Any]:
    """``count`` frames as NINA writes them for a ZWO camera at ``gain`` and ``offset``;
    every file's FILTER is L, as the wheel stood."""
    bias, dark = LEVELS[(gain, offset)]
    response = 1.0 + 0.1 * np.mgrid[0 : SENSOR[0], 0 : SENSOR[1]][1] / SENSOR[1]
    signal = {"BIAS": 0.0, "DARK": dark, "FLAT": dark + 20000.0 * response,
              "LIGHT": dark + SKY_ADU * response}[kind]  # fmt: skip
    rng = np.random.default_rng(minute)
    files = {}
    for k in range(count):
        data = uint16(bias + signal + rng.normal(0, 3.0, SENSOR))
        files[f"{kind}/g{gain}_{k}.fits"] = [primary(
            data, IMAGETYP=kind, EXPOSURE=0.0 if kind == "BIAS" else 60.0,
            EXPTIME=0.0 if kind == "BIAS" else 60.0, GAIN=gain, OFFSET=offset, FILTER="L",
            XBINNING=1, YBINNING=1, CCD_TEMP=-10.0, SET_TEMP=-10.0, INSTRUME="ZWO ASI294MM Pro",
            DATE_OBS=f"2026-12-05T02:{minute + k:02d}:00.000", EGAIN=1.0,
        )]  # fmt: skip
    return files


def night(calibration_gain: tuple[int, int], *more: tuple[int, int]) -> dict[str, Any]:
    """Biases and darks at ``calibration_gain`` (and at each of ``more``); flats and
    lights at gain 100, offset 50."""
    files: dict[str, Any] = {}
    for minute, (gain, offset) in enumerate((calibration_gain, *more)):
        files |= cmos_frames("BIAS", gain, offset, 3, 10 * minute)
        files |= cmos_frames("DARK", gain, offset, 3, 10 * minute + 5)
    return files | cmos_frames("FLAT", 100, 50, 3, 40) | cmos_frames("LIGHT", 100, 50, 2, 50)


def calibrated(settings: Settings) -> list[CalibratedFrame]:
    with session_scope(settings.sqlalchemy_url) as session:
        frames = list(session.scalars(select(CalibratedFrame).order_by(CalibratedFrame.pk)))
        session.expunge_all()
    return frames


def test_masters_of_another_gain_and_offset_never_calibrate_a_light(settings: Settings) -> None:
    url = write_night(settings.batches_dir / "cmos", night((0, 10)))
    outcomes = run_chain(settings, url, STEPS)
    assert [o["ok"] for o in outcomes["bias"] + outcomes["dark"]] == [True, True]
    errors = [o["error"] for o in outcomes["light"]]
    expected = (
        "MasterFrameMissing: no master bias for binning 1, 96x64 px, "
        f"{HIGH}: masters exist for {LOW}"
    )
    assert errors == [expected, expected]
    (flat_dark,) = outcomes["flat_dark"]
    assert flat_dark["error"] == (
        f"MasterFrameMissing: no master dark for 60 s exposures, binning 1, 96x64 px, {HIGH}: "
        f"masters exist for {LOW}"
    )
    assert calibrated(settings) == []


def test_under_skip_a_light_without_masters_of_its_setup_says_so(
    tmp_path: Path, _sqlite_migrated_file: Path
) -> None:
    settings = make_settings(tmp_path / "data", _sqlite_migrated_file, missing_calibrations="skip")
    files = night((0, 10))
    files = {name: hdus for name, hdus in files.items() if not name.startswith("FLAT")}
    outcomes = run_chain(settings, write_night(settings.batches_dir / "cmos", files), STEPS)
    frames = calibrated(settings)
    dispose_engines(settings.sqlalchemy_url)
    assert [o["ok"] for o in outcomes["light"]] == [True, True], outcomes["light"]
    assert len(frames) == 2
    for frame in frames:
        assert (frame.bias_pk, frame.dark_pk, frame.flat_pk) == (None, None, None)
        assert frame.incomplete
        assert f"{HIGH}: masters exist for {LOW}" in frame.corrections["missing"]["bias"]
        header = fits.getheader(settings.products_dir / frame.path)
        assert header["CALMISS"] is True


def test_a_batch_at_two_gains_makes_masters_of_each_and_uses_the_light_s(
    settings: Settings,
) -> None:
    url = write_night(settings.batches_dir / "cmos", night((0, 10), (100, 50)))
    outcomes = run_chain(settings, url, STEPS)
    for step in STEPS:
        assert all(o["ok"] for o in outcomes[step]), outcomes[step]
    with session_scope(settings.sqlalchemy_url) as session:
        masters = {m.pk: (m.path, m.camera_setup) for m in session.scalars(select(MasterFrame))}
    assert sorted(masters.values()) == [
        ("cmos/master_bias_bin1_gain0_offset10_96x64.fits", LOW),
        ("cmos/master_bias_bin1_gain100_offset50_96x64.fits", HIGH),
        ("cmos/master_dark_L_60s_bin1_gain0_offset10_96x64.fits", LOW),
        ("cmos/master_dark_L_60s_bin1_gain100_offset50_96x64.fits", HIGH),
        ("cmos/master_flat_L_bin1_gain100_offset50_96x64.fits", HIGH),
    ]
    for frame in calibrated(settings):
        used = {masters[pk][1] for pk in (frame.bias_pk, frame.dark_pk, frame.flat_pk) if pk}
        assert used == {HIGH}
        data = fits.getdata(settings.products_dir / frame.path)
        assert float(np.median(data)) == pytest.approx(SKY_ADU * 1.05, rel=0.01)


def subframe_night() -> dict[str, Any]:
    """Calibration frames of the sensor's 48x32 corner at origin (0,0), lights of the
    48x32 at (48,32): the same size, other pixels."""
    y, x = np.mgrid[0 : SENSOR[0], 0 : SENSOR[1]]
    bias = 1000 + 200 * x / SENSOR[1]
    response = 0.6 + 0.8 * y / SENSOR[0]

    def frame(kind: str, image: np.ndarray, origin: tuple[int, int], minute: int) -> list[Any]:
        ox, oy = origin
        return [primary(
            uint16(image[oy : oy + 32, ox : ox + 48]), IMAGETYP=kind, EXPTIME=60.0, XBINNING=1,
            YBINNING=1, XORGSUBF=ox, YORGSUBF=oy, FILTER="L",
            DATE_OBS=f"2026-12-05T02:{minute:02d}:00",
        )]  # fmt: skip

    files: dict[str, Any] = {}
    for k in range(3):
        files[f"bias_{k}.fits"] = frame("Bias Frame", bias, (0, 0), k)
        files[f"dark_{k}.fits"] = frame("Dark Frame", bias + 120, (0, 0), 10 + k)
        files[f"flat_{k}.fits"] = frame("Flat Field", bias + 120 + 20000 * response, (0, 0), 20)
    for k in range(2):
        files[f"light_{k}.fits"] = frame("Light Frame", bias + 120 + 500 * response, (48, 32), 30)
    return files


def test_a_subframe_at_another_origin_gets_no_master(settings: Settings) -> None:
    outcomes = run_chain(settings, write_night(settings.batches_dir / "sub", subframe_night()))
    errors = [o["error"] for o in outcomes["light"]]
    expected = (
        "MasterFrameMissing: no master bias for binning 1, 48x32 px, origin 48,32: "
        "masters exist for the default setup (no gain, offset or readout mode written)"
    )
    assert errors == [expected, expected]
    assert calibrated(settings) == []


@pytest.mark.parametrize(
    ("cards", "setup"),
    [
        ({"GAIN": 100, "OFFSET": 50}, "gain 100, offset 50"),
        # A real GAIN is a CCD's e-/ADU (as EGAIN), not a setting.
        ({"GAIN": 1.4, "OFFSET": 50}, "offset 50"),
        ({"GAIN": "HCG", "XORGSUBF": 0, "YORGSUBF": 0}, "gain HCG"),
        ({"XORGSUBF": 48, "YORGSUBF": 32}, "origin 48,32"),
        ({"EGAIN": 1.0, "GAIN": " ", "CCD-TEMP": -10.0}, ""),
        # NINA writes its rows top-down; BOTTOM-UP is FITS's own order, the default.
        ({"GAIN": 100, "ROWORDER": "TOP-DOWN"}, "gain 100, rows top-down"),
        ({"ROWORDER": " bottom-up "}, ""),
        # NINA and ASCOM drivers write the sensor's readout mode (QHY, Moravian, ZWO).
        (
            {"GAIN": 26, "OFFSET": 30, "READOUTM": " High  Gain Mode "},
            "gain 26, offset 30, readout High Gain Mode",
        ),
    ],
)
def test_the_camera_setup_is_read_from_the_cards_capture_programs_write(
    cards: dict[str, Any], setup: str
) -> None:
    header = fits.Header()
    for key, value in cards.items():
        header[key] = value
    assert camera_setup(header) == setup


def test_an_unknown_row_order_is_refused_naming_the_card() -> None:
    header = fits.Header()
    header["ROWORDER"] = "LEFT-RIGHT"
    with pytest.raises(CardUnreadable, match="ROWORDER 'LEFT-RIGHT' is neither TOP-DOWN nor"):
        camera_setup(header)


def test_masters_of_frames_written_bottom_up_never_calibrate_a_top_down_light(
    settings: Settings,
) -> None:
    """NINA writes ROWORDER 'TOP-DOWN', MaxIm and most others bottom-up (FITS's order):
    the same sensor row is row 0 in one file and the last row in the other, so a master
    of the other order would subtract and divide the wrong rows."""
    files = subframe_night()
    for name, (hdu,) in files.items():
        hdu.header.remove("XORGSUBF")
        hdu.header.remove("YORGSUBF")
        if name.startswith("light"):
            hdu.data = hdu.data[::-1].copy()  # the same sensor, written top-down
            hdu.header["ROWORDER"] = "TOP-DOWN"
        else:
            hdu.header["ROWORDER"] = "BOTTOM-UP"
    outcomes = run_chain(settings, write_night(settings.batches_dir / "rows", files))
    errors = [o["error"] for o in outcomes["light"]]
    expected = (
        "MasterFrameMissing: no master bias for binning 1, 48x32 px, rows top-down: "
        "masters exist for the default setup (no gain, offset or readout mode written)"
    )
    assert errors == [expected, expected]
    assert calibrated(settings) == []


def test_masters_of_another_readout_mode_never_calibrate_a_light(settings: Settings) -> None:
    """A QHY or Moravian camera's readout modes have their own bias level, gain and
    noise: biases and darks in 'Photographic Mode' do not serve 'High Gain Mode'."""
    files = subframe_night()
    for name, (hdu,) in files.items():
        hdu.header.remove("XORGSUBF")
        hdu.header.remove("YORGSUBF")
        hdu.header["READOUTM"] = "High Gain Mode" if name.startswith("light") else "Photographic"
    outcomes = run_chain(settings, write_night(settings.batches_dir / "modes", files))
    errors = [o["error"] for o in outcomes["light"]]
    expected = (
        "MasterFrameMissing: no master bias for binning 1, 48x32 px, readout High Gain"
        " Mode: masters exist for readout Photographic"
    )
    assert errors == [expected, expected]
    assert calibrated(settings) == []


def test_a_setup_longer_than_its_column_keeps_its_start_and_a_digest() -> None:
    """Every setup, however long its readout mode's name, is told apart from the others;
    its start stays readable."""
    setups = []
    for mode in (
        "Extended Fullwell Mode 2CMS, 14-bit, low noise A",
        "Extended Fullwell Mode 2CMS, 14-bit, low noise B",
    ):
        header = fits.Header()
        header.update({"GAIN": 100, "OFFSET": 50, "READOUTM": mode, "XORGSUBF": 1024,
                       "YORGSUBF": 768, "ROWORDER": "TOP-DOWN"})  # fmt: skip
        setups.append(camera_setup(header))
    assert setups[0] != setups[1]
    assert all(len(setup) == CAMERA_SETUP_LENGTH for setup in setups)
    assert setups[0].startswith("gain 100, offset 50, origin 1024,768, readout Ext")


def test_ekos_gain_settings_written_as_real_numbers_are_camera_setups(
    settings: Settings,
) -> None:
    """INDI drivers (Ekos) write the gain and offset settings as real numbers with three
    decimals (``GAIN = 100.000 / Gain``): biases and darks at gain 0 are no masters for
    lights at gain 100, as with NINA's integers."""
    files = night((0, 10))
    for hdus in files.values():
        header = hdus[0].header
        header["GAIN"] = (float(header["GAIN"]), "Gain")
        header["OFFSET"] = (30.0, "Offset")  # one offset: only the gains differ
        header.remove("EGAIN")
    outcomes = run_chain(settings, write_night(settings.batches_dir / "ekos", files), STEPS)
    errors = [o.get("error") for o in outcomes["light"]]
    expected = (
        "MasterFrameMissing: no master bias for binning 1, 96x64 px, "
        "gain 100, offset 30: masters exist for gain 0, offset 30"
    )
    assert errors == [expected, expected]
    assert calibrated(settings) == []
