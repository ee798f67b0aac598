"""Frame names as folders hold them: any letter in a folder or file name, and one frame
kept twice (plain and fpacked) in one folder."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from astropy.io import fits
from sqlalchemy import select

from observatory.db.models import CalibratedFrame, Exposure, MasterFrame
from observatory.db.session import dispose_engines, session_scope
from observatory.processor.products import master_relative_path
from tests.unit.processor.conftest import make_settings, run_chain
from tests.unit.processor.rawframes import theskyx_night, write_night

STEPS = ("bias", "dark", "flat_dark", "flat", "light")


def test_frames_in_folders_named_in_any_language_are_calibrated(
    tmp_path: Path, _sqlite_migrated_file: Path
) -> None:
    settings = make_settings(tmp_path / "data", _sqlite_migrated_file, missing_calibrations="skip")
    night = {
        (f"M42 Orión/{name}" if name.startswith("m42") else f"Kalibrace/Čtvrtek/{name}"): hdus
        for name, hdus in theskyx_night().items()
    }
    url = write_night(settings.batches_dir / "skyx-night", night)
    outcomes = run_chain(settings, url, STEPS)
    assert [o["ok"] for o in outcomes["light"]] == [True, True], outcomes
    products = settings.products_dir
    with session_scope(settings.sqlalchemy_url) as session:
        bias = session.scalars(select(MasterFrame).where(MasterFrame.kind == "bias")).one()
        header = fits.getheader(products / bias.path)
        assert header["IMCMB001"] == "Kalibrace/%C4%8Ctvrtek/bias_0.fit"
        for frame in session.scalars(select(CalibratedFrame)):
            rawfile = fits.getheader(products / frame.path)["RAWFILE"]
            assert rawfile.startswith("M42 Ori%C3%B3n/m42_")
            # The card gives the path back; the row holds it as it is.
            assert unquote(rawfile) == frame.exposure.path
            assert frame.exposure.path.startswith("M42 Orión/")
    dispose_engines(settings.sqlalchemy_url)


def test_a_frame_kept_plain_and_fpacked_is_calibrated_once(
    tmp_path: Path, _sqlite_migrated_file: Path
) -> None:
    settings = make_settings(tmp_path / "data", _sqlite_migrated_file, missing_calibrations="skip")
    night = theskyx_night()
    plain = night["m42_0.fit"][0]
    # fpack without -D: the compressed copy beside the original (here with other
    # values, so that a product written twice would show).
    copy = (plain.data.astype(np.int32) + 100).astype(np.uint16)
    night["m42_0.fit.fz"] = [fits.PrimaryHDU(), fits.CompImageHDU(copy, plain.header)]
    url = write_night(settings.batches_dir / "skyx-night", night)
    outcomes = run_chain(settings, url, STEPS)
    assert [o["ok"] for o in outcomes["light"]] == [True, True], outcomes
    with session_scope(settings.sqlalchemy_url) as session:
        rejected = session.scalars(select(Exposure).where(Exposure.state == "rejected")).one()
        assert rejected.path == "m42_0.fit.fz"
        assert rejected.error is not None and "same name as m42_0.fit" in rejected.error
        frames = {f.exposure.path: f.path for f in session.scalars(select(CalibratedFrame))}
    assert frames == {
        "m42_0.fit": "skyx-night/calibrated/m42_0.fits",
        "m42_1.fit": "skyx-night/calibrated/m42_1.fits",
    }
    dispose_engines(settings.sqlalchemy_url)


@pytest.mark.parametrize(
    ("setup", "name"),
    [
        ("", "night/master_bias_bin1_64x48.fits"),
        ("gain 100, offset 50", "night/master_bias_bin1_gain100_offset50_64x48.fits"),
        ("origin 48,32, rows top-down", "night/master_bias_bin1_origin48-32_topdown_64x48.fits"),
        ("readout High Gain Mode", "night/master_bias_bin1_readoutHighGainMode_64x48.fits"),
    ],
)
def test_a_master_file_is_named_for_its_camera_setup(setup: str, name: str) -> None:
    assert master_relative_path("night", "bias", 1, (64, 48), camera_setup=setup) == name
