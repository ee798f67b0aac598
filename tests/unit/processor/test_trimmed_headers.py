"""The header of a trimmed frame describes the trimmed image: its WCS and physical
pixel origins moved by the trim, the raw sections gone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

from observatory.calibration import PreparedFrame
from observatory.processor.headers import read_exposure
from observatory.processor.rawframes import raw_frame
from tests.unit.processor.rawframes import primary, uint16, write

ROWS, COLS, OVERSCAN = 40, 60, 8


def left_overscan_light(path: Path) -> Path:
    """A 3x3 binned light as an observatory CCD writes it: 8 overscan columns LEFT of
    the 60 x 40 data (sections in binned pixels), and the WCS ACP/PinPoint wrote on the
    raw frame (CRPIX counted from its first, overscan, column)."""
    rng = np.random.default_rng(5)
    data = np.full((ROWS, COLS + OVERSCAN), 1000.0) + rng.normal(0, 5, (ROWS, COLS + OVERSCAN))
    data[:, OVERSCAN:] += 500.0
    hdu = primary(
        uint16(data), IMAGETYP="Light Frame", EXPTIME=30.0, FILTER="V", CCDSUM="3 3",
        DATE_OBS="2026-12-05T02:30:00", BIASSEC="[1:8,1:40]", DATASEC="[9:68,1:40]",
        DETSEC="[1:180,1:120]", CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRVAL1=150.0,
        CRVAL2=20.0, CRPIX1=38.5, CRPIX2=20.5, CRPIX1A=38.5, LTV1=0.0, LTV2=0.0,
    )  # fmt: skip
    # primary() writes '_' as '-' (DATE_OBS): these keep theirs.
    hdu.header.update({"CD1_1": -8.4e-4, "CD1_2": 0.0, "CD2_1": 0.0, "CD2_2": 8.4e-4})
    return write(path, [hdu])


def prepared_header(path: Path) -> fits.Header:
    frame = raw_frame(path, read_exposure(path)["readout"])
    assert isinstance(frame, PreparedFrame) and frame.data.shape == (ROWS, COLS)
    return frame.header


def test_trim_moves_the_wcs_and_physical_origin_and_drops_the_sections(tmp_path: Path) -> None:
    header = prepared_header(left_overscan_light(tmp_path / "obj_0.fits"))
    # The pixel the WCS refers to is 8 (binned) columns further left once trimmed.
    assert (header["CRPIX1"], header["CRPIX2"], header["CRPIX1A"]) == (30.5, 20.5, 30.5)
    assert (header["LTV1"], header["LTV2"]) == (-8.0, 0.0)
    assert header["CD1_1"] == -8.4e-4 and header["CRVAL1"] == 150.0
    for card in ("BIASSEC", "DATASEC", "DETSEC"):
        assert card not in header
    assert any("data [9:68,1:40], overscan [1:8,1:40]" in h for h in header["HISTORY"])


def test_a_trim_that_is_no_shift_removes_the_wcs(tmp_path: Path) -> None:
    # Read from the other side: the data section counts its columns downwards.
    path = left_overscan_light(tmp_path / "obj_0.fits")
    with fits.open(path, mode="update") as hdus:
        hdus[0].header["DATASEC"] = "[68:9,1:40]"
    header = prepared_header(path)
    for card in ("CRPIX1", "CRVAL1", "CTYPE2", "CD2_2", "CRPIX1A", "LTV1"):
        assert card not in header
    assert any("WCS removed" in h for h in header["HISTORY"])


def bayer_light(path: Path, datasec: str, pattern: str = "RGGB") -> Path:
    """A one-shot-colour camera's light whose data start after 3 overscan columns and a
    row: BAYERPAT counts from the raw frame's first pixel, an overscan one."""
    rng = np.random.default_rng(9)
    data = uint16(np.full((41, 63), 1000.0) + rng.normal(0, 5, (41, 63)))
    hdu = primary(
        data, IMAGETYP="Light", EXPTIME=30.0, DATE_OBS="2026-12-05T02:30:00",
        BIASSEC="[1:3,1:41]", DATASEC=datasec, BAYERPAT=pattern, XBAYROFF=0, YBAYROFF=0,
    )  # fmt: skip
    return write(path, [hdu])


def test_a_trim_by_an_odd_number_of_pixels_moves_the_bayer_pattern(tmp_path: Path) -> None:
    """Debayering a calibrated frame reads BAYERPAT from its first pixel: trimmed by 3
    columns and 1 row, the raw RGGB starts on a blue pixel."""
    path = bayer_light(tmp_path / "osc_0.fits", "[4:63,2:41]")
    frame = raw_frame(path, read_exposure(path)["readout"])
    assert isinstance(frame, PreparedFrame) and frame.data.shape == (40, 60)
    assert frame.header["BAYERPAT"] == "BGGR"
    assert (frame.header["XBAYROFF"], frame.header["YBAYROFF"]) == (0, 0)
    assert any("BAYERPAT RGGB -> BGGR" in h for h in frame.header["HISTORY"])
    even = bayer_light(tmp_path / "osc_1.fits", "[5:62,3:40]", pattern="GBRG")
    assert raw_frame(even, read_exposure(even)["readout"]).header["BAYERPAT"] == "GBRG"
