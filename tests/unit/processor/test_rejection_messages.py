"""Files a night folder holds beside its frames, each rejected in one line saying what
it is: an fpacked frame cut short, colour cubes; and a cube of one plane calibrated as
the image it is."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from astropy.io import fits
from sqlalchemy import select

from observatory.db.models import CalibratedFrame, Exposure
from observatory.db.session import dispose_engines, session_scope
from observatory.settings import Settings
from tests.unit.processor.conftest import make_settings, run_chain
from tests.unit.processor.rawframes import theskyx_night, write_night


def file_bytes(hdus: list[fits.PrimaryHDU | fits.CompImageHDU]) -> bytes:
    buffer = io.BytesIO()
    fits.HDUList(list(hdus)).writeto(buffer)
    return buffer.getvalue()


def test_cut_and_colour_files_say_what_they_are_and_a_one_plane_cube_is_calibrated(
    tmp_path: Path, _sqlite_migrated_file: Path
) -> None:
    settings = make_settings(tmp_path / "data", _sqlite_migrated_file, missing_calibrations="skip")
    night = theskyx_night()
    light = night["m42_1.fit"][0]
    # SharpCap and MaxIm save a colour frame as a cube of 3 planes; MaxIm calls it so.
    colour = fits.PrimaryHDU(np.stack([light.data] * 3), light.header.copy())
    tricolor = fits.PrimaryHDU(np.stack([light.data] * 3), light.header.copy())
    tricolor.header["IMAGETYP"] = "Tricolor Image"
    # Some drivers write a monochrome frame as NAXIS3 = 1.
    night["m42_cube.fit"] = [fits.PrimaryHDU(light.data[None, :, :], light.header.copy())]
    night["m42_rgb.fit"] = [colour]
    night["m42_tricolor.fit"] = [tricolor]
    write_night(settings.batches_dir / "skyx-night", night)
    noise = np.random.default_rng(3).integers(0, 60000, (256, 256)).astype(np.uint16)
    packed = file_bytes([fits.PrimaryHDU(), fits.CompImageHDU(noise, light.header)])
    folder = settings.batches_dir / "skyx-night"
    (folder / "m42_cut.fits.fz").write_bytes(packed[:-20000])  # the copy broke off
    (folder / "m42_header_cut.fits.fz").write_bytes(packed[: 2880 + 2760])
    (folder / "manifest.json").unlink()  # the folder as the capture program left it
    outcomes = run_chain(settings, str(folder), ("bias", "dark", "flat_dark", "flat", "light"))
    assert rejected_files(settings) == {
        "m42_cut.fits.fz": f"truncated: actual file length ({len(packed) - 20000}) is smaller"
        f" than the expected size ({len(packed)})",
        "m42_header_cut.fits.fz": "truncated: HDU 1's header ends after 2760 bytes of 2880",
        "m42_rgb.fit": "HDU 0 is a 3-D cube of 3 planes (colour image): not supported",
        "m42_tricolor.fit": "HDU 0 is a 3-D cube of 3 planes (colour image): not supported",
    }
    assert [o["ok"] for o in outcomes["light"]] == [True] * 3, outcomes["light"]
    with session_scope(settings.sqlalchemy_url) as session:
        frames = {f.exposure.path: f.path for f in session.scalars(select(CalibratedFrame))}
    cube = fits.getdata(settings.products_dir / frames["m42_cube.fit"])
    same = fits.getdata(settings.products_dir / frames["m42_1.fit"])
    assert cube.shape == light.data.shape
    np.testing.assert_array_equal(cube, same)
    dispose_engines(settings.sqlalchemy_url)


def rejected_files(settings: Settings) -> dict[str, str]:
    with session_scope(settings.sqlalchemy_url) as session:
        rows = session.scalars(select(Exposure).where(Exposure.state == "rejected"))
        return {row.path: str(row.error) for row in rows}
