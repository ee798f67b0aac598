"""Amplifiers, extensions and compressed files: read at ingest, cut the same way later."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from observatory.calibration.overscan import PreparedFrame
from observatory.processor.headers import ExposureRejected, read_exposure, read_exposures
from observatory.processor.profiles import InstrumentProfile, Profiles
from observatory.processor.rawframes import raw_frame
from tests.unit.calibration.test_overscan import four_amplifier_frame
from tests.unit.processor.rawframes import primary, write

CARDS = {"IMAGETYP": "Light Frame", "EXPTIME": 10.0, "DATE_OBS": "2026-12-05T01:02:03"}


def prepared(path: Path, profiles: Profiles | None = None) -> tuple[dict, np.ndarray]:
    row = read_exposure(path, profiles)
    frame = raw_frame(path, row["readout"])
    assert isinstance(frame, PreparedFrame)
    assert frame.data.shape == (row["naxis2"], row["naxis1"])
    return row, frame.data


def test_four_amplifier_frame_from_lettered_cards(tmp_path: Path) -> None:
    raw, sections = four_amplifier_frame()
    head = primary(raw, **CARDS)
    for letter, (data, scan) in zip("ABCD", sections, strict=True):
        head.header[f"DATASEC{letter}"] = data
        head.header[f"BIASSEC{letter}"] = scan
    row, data = prepared(write(tmp_path / "quad.fits", [head]))
    assert (row["naxis1"], row["naxis2"]) == (40, 60)
    assert len(row["readout"]["amplifiers"]) == 4
    # Every quadrant's own level (900 + 100 k) is gone; its signal 500 + k is left.
    for k, (r, c) in enumerate([(0, 0), (0, 20), (30, 0), (30, 20)]):
        assert abs(float(np.median(data[r : r + 30, c : c + 20])) - (500 + k)) < 3


def test_four_amplifiers_from_the_profile(tmp_path: Path) -> None:
    raw, sections = four_amplifier_frame()
    profile = InstrumentProfile.model_validate(
        {"name": "quad", "instrume": ["Quad"],
         "amplifiers": [{"datasec": d, "biassec": s} for d, s in sections]}
    )  # fmt: skip
    path = write(tmp_path / "quad.fits", [primary(raw, INSTRUME="Quad", **CARDS)])
    row, data = prepared(path, Profiles(named=(profile,)))
    assert row["profile"] == "quad" and data.shape == (60, 40)
    assert abs(float(np.median(data[:30, :20])) - 500) < 3


def mef(tmp_path: Path, detsec: bool = True) -> Path:
    """Two CCDs side by side in two extensions, binned 2x2 (DETSEC unbinned), each with
    an overscan strip of 4 columns."""
    rng = np.random.default_rng(5)
    hdus: list = [primary(None, CCDSUM="2 2", **CARDS)]
    for k in range(2):
        data = np.empty((30, 24))
        data[:, :20] = 1000 + 100 * k + 300 + k
        data[:, 20:] = 1000 + 100 * k
        ext = fits.ImageHDU(np.round(data + rng.normal(0, 2, data.shape)).astype(np.uint16))
        ext.header["EXTNAME"] = f"CCD{k + 1}"
        ext.header["DATASEC"] = "[1:20,1:30]"
        ext.header["BIASSEC"] = "[21:24,1:30]"
        if detsec:
            ext.header["DETSEC"] = f"[{1 + 40 * k}:{40 + 40 * k},1:60]"
        hdus.append(ext)
    return write(tmp_path / "mef.fits", hdus)


def test_multi_extension_file_is_assembled_by_detsec(tmp_path: Path) -> None:
    row, data = prepared(mef(tmp_path))
    assert (row["naxis1"], row["naxis2"], row["binning"]) == (40, 30, 2)
    assert abs(float(np.median(data[:, :20])) - 300) < 2
    assert abs(float(np.median(data[:, 20:])) - 301) < 2


def test_extensions_without_detsec_are_separate_detectors_by_default(tmp_path: Path) -> None:
    path = mef(tmp_path, detsec=False)
    rows = read_exposures(path)
    assert [row["detector"] for row in rows] == ["CCD1", "CCD2"]
    for k, row in enumerate(rows):
        frame = raw_frame(path, row["readout"])
        assert isinstance(frame, PreparedFrame)
        # Each detector is its own extension, its own overscan gone: 300 + k is left.
        assert (row["naxis1"], row["naxis2"], row["binning"]) == (20, 30, 2)
        assert abs(float(np.median(frame.data)) - (300 + k)) < 2


def test_assemble_profile_refuses_extensions_without_detsec(tmp_path: Path) -> None:
    profile = InstrumentProfile(name="default", extensions="assemble")
    with pytest.raises(ExposureRejected, match="HDU 1: no DETSEC: 2 image extensions"):
        read_exposure(mef(tmp_path, detsec=False), Profiles(default=profile))


def test_separate_profile_splits_even_extensions_with_detsec(tmp_path: Path) -> None:
    profile = InstrumentProfile(name="default", extensions="separate")
    rows = read_exposures(mef(tmp_path), Profiles(default=profile))
    assert [(r["detector"], r["naxis1"]) for r in rows] == [("CCD1", 20), ("CCD2", 20)]


def test_fpacked_extensions_are_separate_detectors_too(tmp_path: Path) -> None:
    with fits.open(mef(tmp_path, detsec=False)) as hdus:
        packed = [hdus[0].copy()] + [
            fits.CompImageHDU(h.data.astype(np.int32), h.header, compression_type="RICE_1")
            for h in hdus[1:]
        ]
    path = write(tmp_path / "mef.fits.fz", packed)
    rows = read_exposures(path)
    assert [row["detector"] for row in rows] == ["CCD1", "CCD2"]
    for k, row in enumerate(rows):
        frame = raw_frame(path, row["readout"])
        assert isinstance(frame, PreparedFrame)
        assert abs(float(np.median(frame.data)) - (300 + k)) < 2


def test_a_file_of_several_detectors_is_not_read_as_one(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="holds 2 detectors"):
        read_exposure(mef(tmp_path, detsec=False))


def test_ccds_with_a_gap_between_them_are_separate_detectors(tmp_path: Path) -> None:
    path = mef(tmp_path)
    with fits.open(path, mode="update") as hdus:
        hdus[2].header["DETSEC"] = "[85:124,1:60]"  # 4 unbinned columns of gap
    assert [row["detector"] for row in read_exposures(path)] == ["CCD1", "CCD2"]
    profile = InstrumentProfile(name="default", extensions="assemble")
    with pytest.raises(ExposureRejected, match="do not assemble into one image"):
        read_exposures(path, Profiles(default=profile))


@pytest.mark.parametrize("name", ["light.fits.fz", "light.fits.gz"])
def test_fpack_and_gzip_files(tmp_path: Path, name: str) -> None:
    rng = np.random.default_rng(6)
    image = rng.integers(900, 1100, (32, 40)).astype(np.int32)
    head = primary(None if name.endswith(".fz") else image, BIASSEC="[37:40,1:32]",
                   TRIMSEC="[1:36,1:32]", **CARDS)  # fmt: skip
    hdus: list = [head]
    if name.endswith(".fz"):
        hdus.append(fits.CompImageHDU(image, compression_type="RICE_1"))
    path = write(tmp_path / name, hdus)
    row, data = prepared(path)
    assert (row["naxis1"], row["naxis2"]) == (36, 32)
    expected = image[:, :36] - np.median(image[:, 36:], axis=1, keepdims=True)
    np.testing.assert_allclose(data, expected, rtol=1e-6)


def test_a_plain_frame_keeps_the_fast_path(tmp_path: Path) -> None:
    path = write(tmp_path / "plain.fits", [primary(np.zeros((4, 4), np.uint16), **CARDS)])
    assert raw_frame(path, read_exposure(path)["readout"]) == path


def test_a_section_outside_the_image_names_its_card(tmp_path: Path) -> None:
    head = primary(np.zeros((10, 10), np.uint16), BIASSEC="[9:12,1:10]", TRIMSEC="[1:8,1:10]",
                   **CARDS)  # fmt: skip
    with pytest.raises(ExposureRejected, match=r"section \[9:12,1:10\] lies outside"):
        read_exposure(write(tmp_path / "bad.fits", [head]))


def test_a_gzipped_plain_frame_is_read_through_astropy(tmp_path: Path) -> None:
    image = np.arange(48, dtype=np.uint16).reshape(6, 8)
    path = write(tmp_path / "plain.fits.gz", [primary(image, **CARDS)])
    row, data = prepared(path)
    assert row["readout"] is not None and (row["naxis1"], row["naxis2"]) == (8, 6)
    np.testing.assert_array_equal(data, image)
