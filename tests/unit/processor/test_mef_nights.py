"""A multi-extension camera calibrated extension by extension, checked against ccdproc."""

from __future__ import annotations

from pathlib import Path

import astropy.units as u
import ccdproc
import numpy as np
import pytest
from astropy.io import fits
from astropy.nddata import CCDData
from sqlalchemy import select

from observatory.bench.skyframes import SkyFrameMaker
from observatory.calibration import central_region
from observatory.db.models import CalibratedFrame, Exposure, MasterFrame
from observatory.db.session import dispose_engines, session_scope
from observatory.processor import ingest as ingest_module
from observatory.processor import ingest_batch, transfer_batch, units_of
from observatory.settings import ProcessorSettings, Settings
from observatory.simulator.sky.catalogue import CatalogueUnavailable
from observatory.simulator.sky.projection import angular_separation_deg
from tests.unit.platesolve.conftest import require_engine
from tests.unit.processor.conftest import make_settings, run_chain
from tests.unit.processor.mefframes import (
    QUAD_BIAS_ADU,
    QUAD_BIASSEC,
    QUAD_DARK_S,
    QUAD_DATA_SHAPE,
    QUAD_FLAT_S,
    QUAD_GAIN,
    QUAD_LIGHT_S,
    QUAD_NAMES,
    QUAD_TRIMSEC,
    quad_night,
)
from tests.unit.processor.rawframes import primary, write_night

RTOL = 1e-5
STEPS = ("bias", "dark", "flat_dark", "flat", "light")


def prepared(path: Path, hdu: int) -> CCDData:
    ccd = CCDData.read(path, hdu=hdu, unit="adu")
    ccd = ccdproc.subtract_overscan(ccd, fits_section=QUAD_BIASSEC, median=True)
    return ccdproc.trim_image(ccd, fits_section=QUAD_TRIMSEC)


def ccdproc_extension(folder: Path, names: list[str], hdu: int) -> dict[str, np.ndarray]:
    """One extension of the night reduced with ccdproc alone."""

    def of(prefix: str) -> list[CCDData]:
        return [prepared(folder / n, hdu) for n in names if n.startswith(prefix)]

    def minus_dark(ccd: CCDData, seconds: float) -> CCDData:
        return ccdproc.subtract_dark(
            ccdproc.subtract_bias(ccd, bias), dark, dark_exposure=QUAD_DARK_S * u.s,
            data_exposure=seconds * u.s, scale=True,
        )  # fmt: skip

    bias = ccdproc.combine(of("zero/"), method="median")
    dark = ccdproc.subtract_bias(ccdproc.combine(of("dark/"), method="median"), bias)
    flats = [minus_dark(f, QUAD_FLAT_S) for f in of("flat/")]
    rows, cols = central_region(QUAD_DATA_SHAPE, 0.5)
    levels = [np.median(f.data[rows, cols]) for f in flats]
    combined = ccdproc.combine(flats, method="median", scale=[1 / level for level in levels])
    flat = combined.divide(np.median(combined.data[rows, cols]) * combined.unit)
    lights = {
        name: ccdproc.flat_correct(minus_dark(prepared(folder / name, hdu), QUAD_LIGHT_S), flat,
                                   norm_value=1).data
        for name in names if name.startswith("science/")
    }  # fmt: skip
    return {"bias": bias.data, "dark": dark.data, "flat": flat.data, **lights}


def test_four_extension_night_is_calibrated_per_detector_equal_to_ccdproc(
    tmp_path: Path, _sqlite_migrated_file: Path
) -> None:
    settings: Settings = make_settings(tmp_path / "data", _sqlite_migrated_file)
    night = quad_night()
    folder = settings.batches_dir / "quad-night"
    url = write_night(folder, night)
    outcomes = run_chain(settings, url, STEPS)
    assert [o for units in outcomes.values() for o in units if not o["ok"]] == []
    # One unit per detector and group: 4 bias, 4 dark, 4 flat groups, 4 x 2 lights.
    assert [len(outcomes[step]) for step in STEPS] == [4, 4, 4, 4, 8]
    assert "detector im3" in {o["label"].split(", ")[-1] for o in outcomes["bias"]}
    products = settings.products_dir
    with session_scope(settings.sqlalchemy_url) as session:
        exposures = list(session.scalars(select(Exposure)))
        assert len(exposures) == 4 * len(night)
        by_file: dict[str, list[str]] = {}
        for exposure in sorted(exposures, key=lambda e: e.pk):
            by_file.setdefault(exposure.path, []).append(exposure.detector)
        assert all(names == list(QUAD_NAMES) for names in by_file.values())
        for e in exposures:
            k = QUAD_NAMES.index(e.detector)
            assert (e.naxis2, e.naxis1) == QUAD_DATA_SHAPE and e.binning == 2
            assert e.gain_e_per_adu == QUAD_GAIN[k] and e.read_noise_e == 4.0 + k
        masters = {(m.kind.value, m.detector): m for m in session.scalars(select(MasterFrame))}
        assert len(masters) == 12
        assert {d for _, d in masters} == set(QUAD_NAMES)
        frames = list(session.scalars(select(CalibratedFrame)))
        assert len(frames) == 8
        for frame in frames:
            detector = frame.exposure.detector
            # A master of another detector never calibrates this one.
            used = [session.get_one(MasterFrame, pk) for pk in (frame.bias_pk, frame.dark_pk,
                                                                  frame.flat_pk)]  # fmt: skip
            assert {m.detector for m in used} == {detector}
            assert frame.path.endswith(f".{detector}.fits") and not frame.incomplete
            applied = (frame.corrections or {}).get("applied")
            assert applied == ["overscan", "trim", "bias", "dark", "flat"]
            header = fits.getheader(products / frame.path)
            assert header["DETNAME"] == detector
            assert header["RAWHDU"] == QUAD_NAMES.index(detector) + 1
            assert header["GAIN"] == QUAD_GAIN[QUAD_NAMES.index(detector)]
            assert header["DATE-OBS"] == frame.exposure.header["DATE-OBS"]
        bias_levels = {d: float(np.median(fits.getdata(products / masters["bias", d].path)))
                       for d in QUAD_NAMES}  # fmt: skip
        paths = {key: m.path for key, m in masters.items()}
        for (_, detector), master in masters.items():
            assert master.path.endswith(f"_{detector}_{master.naxis1}x{master.naxis2}.fits")
            assert fits.getheader(products / master.path)["DETNAME"] == detector
        light_paths = {(f.exposure.path, f.exposure.detector): f.path for f in frames}
    # The overscan took each amplifier's own level away: what is left is the small
    # difference between the overscan and data levels (none here).
    assert all(abs(level) < 2 for level in bias_levels.values()), bias_levels
    assert QUAD_BIAS_ADU[3] - QUAD_BIAS_ADU[2] > 500  # a wrong master would show
    names = sorted(night)
    for hdu, detector in enumerate(QUAD_NAMES, start=1):
        expected = ccdproc_extension(folder, names, hdu)
        for kind in ("bias", "dark", "flat"):
            data = fits.getdata(products / paths[kind, detector])
            np.testing.assert_allclose(data, expected[kind], rtol=RTOL, atol=1e-3)
        for name in (n for n in names if n.startswith("science/")):
            data = fits.getdata(products / light_paths[name, detector])
            np.testing.assert_allclose(data, expected[name], rtol=RTOL, atol=1e-3)
    # Astrometry solves each detector's calibrated frame on its own.
    astrometry = units_of(settings, "quad-night", url, "astrometry")
    assert len(astrometry) == 8
    dispose_engines(settings.sqlalchemy_url)


def test_reingest_with_another_profile_replaces_the_rows_of_the_file(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite and PostgreSQL: the rows of a run of files are upserted in one
    statement, and their rows of other detectors deleted in one more (two files a
    statement here, so that the five files take three)."""
    monkeypatch.setattr(ingest_module, "FILES_PER_STATEMENT", 2)
    instruments = tmp_path / "instruments"
    instruments.mkdir()
    profile = instruments / "quadcam.toml"
    profile.write_text('name = "QuadCam"\ninstrume = ["QuadCam 4k"]\nextensions = "assemble"\n')
    settings = Settings(
        data_dir=tmp_path / "data", database_url=database_url,
        processor=ProcessorSettings.model_validate({"instruments_dir": instruments}),
    )  # fmt: skip
    night = {name: hdus for name, hdus in quad_night().items() if name.startswith("zero/")}
    url = write_night(settings.batches_dir / "quad-zeros", night)
    batch = transfer_batch(settings, url)[0]
    refused = ingest_batch(settings, batch)
    assert refused["ok"] == {} and len(refused["rejected"]) == 5
    assert "HDU 1: no DETSEC: 4 image extensions" in refused["rejected"]["zero/zero_0.fits"]
    profile.write_text('name = "QuadCam"\ninstrume = ["QuadCam 4k"]\nextensions = "separate"\n')
    outputs = ingest_batch(settings, batch)
    assert outputs["ok"] == {"bias": 20} and outputs["rejected"] == {}
    assert outputs["detectors"]["zero/zero_0.fits"] == list(QUAD_NAMES)
    pks = _exposure_rows(settings)
    assert sorted(pks) == sorted((n, d, "ok") for n in night for d in QUAD_NAMES)
    # Again with the same profile: the same rows, updated in place.
    ingest_batch(settings, batch)
    assert _exposure_rows(settings) == pks
    # And back: each file's four rows give way to its one rejected row.
    profile.write_text('name = "QuadCam"\ninstrume = ["QuadCam 4k"]\nextensions = "assemble"\n')
    ingest_batch(settings, batch)
    assert sorted(_exposure_rows(settings)) == sorted((n, "", "rejected") for n in night)
    dispose_engines(settings.sqlalchemy_url)


def _exposure_rows(settings: Settings) -> dict[tuple[str, str, str], int]:
    """(path, detector, state) -> pk of every exposure row."""
    with session_scope(settings.sqlalchemy_url) as session:
        rows = session.scalars(select(Exposure))
        return {(e.path, e.detector, e.state.value): e.pk for e in rows}


@pytest.mark.slow
def test_each_detector_of_a_mosaic_light_is_plate_solved_on_its_own(
    tmp_path: Path, _sqlite_migrated_file: Path
) -> None:
    """Two CCDs of 2 degrees side by side in one file, the mount pointing between them:
    each detector's calibrated frame solves to its own centre."""
    require_engine()
    try:
        maker = SkyFrameMaker(1024, 7.0)
    except CatalogueUnavailable as error:
        pytest.skip(f"the simulator has no star catalogue here: {error}")
    centres = [(150.0, 20.0), (152.2, 20.0)]
    sky = [maker.frame(ra, dec) for ra, dec in centres]
    head = primary(
        None, IMAGETYP="Light Frame", EXPTIME=30.0, FILTER="L", RA=151.1, DEC=20.0,
        DATE_OBS="2026-12-05T03:00:00", XPIXSZ=9.0, FOCALLEN=sky[0].header["FOCALLEN"],
    )  # fmt: skip
    extensions = [fits.ImageHDU(frame.data) for frame in sky]
    for k, ext in enumerate(extensions):
        ext.header["EXTNAME"] = f"ccd{k + 1}"
    settings = make_settings(tmp_path / "data", _sqlite_migrated_file, missing_calibrations="skip")
    url = write_night(settings.batches_dir / "sky", {"m1.fits": [head, *extensions]})
    outcomes = run_chain(settings, url, (*STEPS, "astrometry"))
    assert [o["ok"] for o in outcomes["astrometry"]] == [True, True], outcomes["astrometry"]
    with session_scope(settings.sqlalchemy_url) as session:
        solved = {f.exposure.detector: f for f in session.scalars(select(CalibratedFrame))}
        for k, (ra_deg, dec_deg) in enumerate(centres):
            frame = solved[f"ccd{k + 1}"]
            assert frame.wcs_status.value == "solved"
            assert frame.ra_center_deg is not None and frame.dec_center_deg is not None
            error_arcsec = 3600 * angular_separation_deg(
                frame.ra_center_deg, frame.dec_center_deg, ra_deg, dec_deg
            )
            assert error_arcsec < 5.0
            assert frame.pixel_scale_arcsec == pytest.approx(7.0, rel=0.01)
    dispose_engines(settings.sqlalchemy_url)
