"""Nights of real cameras through the processor's steps, checked against ccdproc."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ccdproc
import numpy as np
import pytest
from astropy.io import fits
from astropy.nddata import CCDData
from sqlalchemy import select

from observatory.calibration import central_region
from observatory.db.models import CalibratedFrame, Exposure, MasterFrame
from observatory.db.session import dispose_engines, session_scope
from observatory.processor import ingest_batch, transfer_batch
from observatory.settings import Settings
from tests.unit.processor.conftest import make_settings, run_chain
from tests.unit.processor.rawframes import (
    PRO_BIASSEC,
    PRO_DATA_SHAPE,
    PRO_PROFILE,
    PRO_TRIMSEC,
    mef_night,
    nina_fpack_night,
    pro_ccd_night,
    theskyx_night,
    write,
    write_night,
)

RTOL = 1e-5


@pytest.fixture
def pro_settings(tmp_path: Path, _sqlite_migrated_file: Path) -> Iterator[Settings]:
    instruments = tmp_path / "instruments"
    instruments.mkdir()
    (instruments / "proccd.toml").write_text(PRO_PROFILE)
    made = make_settings(tmp_path / "data", _sqlite_migrated_file, instruments_dir=instruments)
    yield made
    dispose_engines(made.sqlalchemy_url)


def ccdproc_prepared(path: Path) -> CCDData:
    ccd = CCDData.read(path, unit="adu")
    ccd = ccdproc.subtract_overscan(ccd, fits_section=PRO_BIASSEC, median=True)
    return ccdproc.trim_image(ccd, fits_section=PRO_TRIMSEC)


def ccdproc_reduction(folder: Path, night: dict[str, Any]) -> dict[str, np.ndarray]:
    """The night reduced with ccdproc alone: master bias, master flat, lights."""
    names = sorted(night)
    bias = ccdproc.combine(
        [ccdproc_prepared(folder / n) for n in names if n.startswith("zero")], method="median"
    )
    flats = [ccdproc.subtract_bias(ccdproc_prepared(folder / n), bias)
             for n in names if n.startswith("domeflat")]  # fmt: skip
    rows, cols = central_region(PRO_DATA_SHAPE, 0.5)
    levels = [np.median(f.data[rows, cols]) for f in flats]
    combined = ccdproc.combine(flats, method="median", scale=[1 / level for level in levels])
    flat = combined.divide(np.median(combined.data[rows, cols]) * combined.unit)
    lights = {
        n: ccdproc.flat_correct(
            ccdproc.subtract_bias(ccdproc_prepared(folder / n), bias), flat, norm_value=1
        ).data
        for n in names
        if n.startswith("ngc")
    }
    return {"bias": bias.data, "flat": flat.data, **lights}


def test_cooled_pro_ccd_night_equals_ccdproc(pro_settings: Settings) -> None:
    night = pro_ccd_night()
    folder = pro_settings.batches_dir / "pro-night"
    url = write_night(folder, night)
    outcomes = run_chain(pro_settings, url, ("bias", "dark", "flat_dark", "flat", "light"))
    failed = [o for units in outcomes.values() for o in units if not o["ok"]]
    assert failed == []
    expected = ccdproc_reduction(folder, night)
    products = pro_settings.products_dir
    with session_scope(pro_settings.sqlalchemy_url) as session:
        masters = {m.kind.value: m.path for m in session.scalars(select(MasterFrame))}
        exposures = {e.path: e for e in session.scalars(select(Exposure))}
        frames = {f.exposure.path: f for f in session.scalars(select(CalibratedFrame))}
        assert {e.binning for e in exposures.values()} == {3}
        assert {e.profile for e in exposures.values()} == {"ProCCD"}
        assert exposures["domeflat_V_000.fits"].cards["filter"] == "FILTNAME"
        assert sorted(frames) == sorted(n for n in night if n.startswith("ngc"))
        for name, frame in frames.items():
            assert frame.corrections["applied"] == ["overscan", "trim", "bias", "flat"]
            assert "dark" in frame.corrections["not_needed"] and not frame.incomplete
            with fits.open(products / frame.path) as hdus:
                assert hdus[0].data.shape == PRO_DATA_SHAPE
                np.testing.assert_allclose(hdus[0].data, expected[name], rtol=RTOL)
                header = hdus[0].header
                assert header["CALSTAT"] == "OTBF" and header["CALMISS"] is False
                assert header["DATE-OBS"] == "2026-12-05"
                assert any("dark: not needed" in h for h in header["HISTORY"])
    assert set(masters) == {"bias", "flat"}
    corrected_flat = fits.getheader(products / "pro-night/flat_dark/domeflat_V_000.fits")
    assert "DARKFILE" not in corrected_flat
    history = "".join(corrected_flat["HISTORY"])  # long HISTORY lines wrap over cards
    assert "dark: not subtracted from this flat: profile ProCCD: darks are not needed" in history
    for kind in ("bias", "flat"):
        history = "".join(fits.getheader(products / masters[kind])["HISTORY"])
        assert "inputs overscan: applied: median of [61:68,1:40]" in history
        data = fits.getdata(products / masters[kind])
        np.testing.assert_allclose(data, expected[kind], rtol=RTOL)


def test_night_without_flats_under_skip_says_what_is_missing(
    tmp_path: Path, _sqlite_migrated_file: Path
) -> None:
    settings = make_settings(tmp_path / "data", _sqlite_migrated_file, missing_calibrations="skip")
    url = write_night(settings.batches_dir / "skyx-night", theskyx_night())
    outcomes = run_chain(settings, url, ("bias", "dark", "flat_dark", "flat", "light"))
    assert [o["ok"] for o in outcomes["light"]] == [True, True]
    with session_scope(settings.sqlalchemy_url) as session:
        for frame in session.scalars(select(CalibratedFrame)):
            assert frame.incomplete and frame.flat_pk is None and frame.dark_pk is not None
            assert frame.corrections["applied"] == ["bias", "dark"]
            assert "no master flat for filter L" in frame.corrections["missing"]["flat"]
            header = fits.getheader(settings.products_dir / frame.path)
            assert (header["CALSTAT"], header["CALMISS"]) == ("BD", True)
            assert any(h.startswith("flat: MISSING: no master flat") for h in header["HISTORY"])
            data = fits.getdata(settings.products_dir / frame.path)
            # Bias and dark gone, no flat: the 800 adu of sky is left as it was.
            assert abs(float(np.median(data)) - 800) < 5
    dispose_engines(settings.sqlalchemy_url)


def test_night_without_flats_under_fail_leaves_the_lights_uncalibrated(
    tmp_path: Path, _sqlite_migrated_file: Path
) -> None:
    settings = make_settings(tmp_path / "data", _sqlite_migrated_file)
    url = write_night(settings.batches_dir / "skyx-night", theskyx_night())
    outcomes = run_chain(settings, url, ("bias", "dark", "flat_dark", "flat", "light"))
    errors = [o["error"] for o in outcomes["light"]]
    assert len(errors) == 2 and all("no master flat for filter L" in e for e in errors)
    with session_scope(settings.sqlalchemy_url) as session:
        assert list(session.scalars(select(CalibratedFrame))) == []
    dispose_engines(settings.sqlalchemy_url)


def plain_folder(folder: Path, night: dict[str, list[Any]]) -> str:
    """The night written as a capture program leaves it: no manifest."""
    for name, hdus in night.items():
        write(folder / name, hdus)
    return str(folder)


def test_fpacked_nina_night_in_subfolders_is_calibrated(
    tmp_path: Path, _sqlite_migrated_file: Path
) -> None:
    settings = make_settings(tmp_path / "data", _sqlite_migrated_file)
    url = plain_folder(settings.batches_dir / "nina-night", nina_fpack_night())
    outcomes = run_chain(settings, url, ("bias", "dark", "flat_dark", "flat", "light"))
    assert [o["ok"] for o in outcomes["light"]] == [True] * 3, outcomes["light"]
    with session_scope(settings.sqlalchemy_url) as session:
        frames = list(session.scalars(select(CalibratedFrame)))
        assert sorted(f.path for f in frames) == [
            f"nina-night/calibrated/LIGHT/light_{k}.fits" for k in range(3)
        ]
        for frame in frames:
            assert frame.corrections["applied"] == ["trim", "bias", "dark", "flat"]
            data = fits.getdata(settings.products_dir / frame.path)
            # Flat-fielded 2000 adu x response: flat over the frame, at the flat's scale.
            assert data.shape == (24, 36) and np.std(data) / np.mean(data) < 0.01


def test_mosaic_night_is_assembled_from_its_extensions(
    tmp_path: Path, _sqlite_migrated_file: Path
) -> None:
    settings = make_settings(tmp_path / "data", _sqlite_migrated_file, missing_calibrations="skip")
    url = plain_folder(settings.batches_dir / "mosaic-night", mef_night())
    outcomes = run_chain(settings, url, ("bias", "dark", "flat_dark", "flat", "light"))
    assert [o["ok"] for o in outcomes["light"]] == [True] * 3, outcomes["light"]
    with session_scope(settings.sqlalchemy_url) as session:
        for frame in session.scalars(select(CalibratedFrame)):
            assert frame.corrections["applied"] == ["overscan", "trim", "bias", "flat"]
            assert "no master dark" in frame.corrections["missing"]["dark"]
            data = fits.getdata(settings.products_dir / frame.path)
            assert data.shape == (20, 60)
            # Each CCD's own level is gone: both halves hold the same flat-fielded sky.
            left, right = np.median(data[:, :30]), np.median(data[:, 30:])
            assert abs(left - right) < 0.01 * left


def test_ingest_lists_frames_with_cards_it_could_not_read(
    tmp_path: Path, _sqlite_migrated_file: Path
) -> None:
    settings = make_settings(tmp_path / "data", _sqlite_migrated_file)
    night = theskyx_night()
    night["m42_0.fit"][0].header["OBJCTDEC"] = "north"
    url = write_night(settings.batches_dir / "skyx-night", night)
    outputs = ingest_batch(settings, transfer_batch(settings, url)[0])
    assert outputs["rejected"] == {}
    assert outputs["unread_cards"] == {
        "m42_0.fit": "OBJCTDEC 'north' is not an angle: left unknown"
    }
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.scalars(select(Exposure).where(Exposure.path == "m42_0.fit")).one()
        assert (row.state, row.dec_deg, row.ra_deg) == ("ok", None, pytest.approx(83.822, 1e-4))
    dispose_engines(settings.sqlalchemy_url)
