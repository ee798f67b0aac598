"""Sections, overscan subtraction and trimming, checked against ccdproc."""

from __future__ import annotations

import ccdproc
import numpy as np
import pytest
from astropy.io import fits
from astropy.modeling import models
from astropy.nddata import CCDData

from observatory.calibration.correction import correct_frame
from observatory.calibration.overscan import (
    Amplifier,
    Readout,
    calibrate_readout,
    prepare_image,
    read_plane_values,
)
from observatory.calibration.sections import Section, parse_section
from observatory.errors import FlatFieldInvalid, FrameMismatch


def test_sections_are_one_based_inclusive_with_blanks() -> None:
    section = parse_section("[18:1382, 1:1370]")
    assert (section.rows, section.cols) == ((0, 1370), (17, 1382))
    assert section.shape == (1370, 1365)
    assert section.fits() == "[18:1382,1:1370]"
    flipped = parse_section("[ 10:1 , 3:4 ]")
    data = np.arange(40).reshape(4, 10)
    assert flipped.cols_reversed
    np.testing.assert_array_equal(data[flipped.slices], data[2:4, 9::-1])


@pytest.mark.parametrize("text", ["[1:10]", "1:10,1:10", "[0:10,1:5]", "[a:b,1:2]", 12])
def test_a_malformed_section_is_refused(text: object) -> None:
    with pytest.raises(ValueError, match=r"FITS section|count from 1"):
        parse_section(text)


def frame(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    rows = np.arange(shape[0])[:, None]
    cols = np.arange(shape[1])[None, :]
    level = 1000.0 + 0.05 * rows + 0.01 * cols
    return np.round(level + rng.normal(0, 4, shape) + 50).astype(np.uint16)


@pytest.mark.parametrize("method", ["median", "mean", "fit"])
def test_one_amplifier_equals_ccdproc(method: str) -> None:
    raw = frame(np.random.default_rng(1), (50, 70))
    data, scan = parse_section("[1:60, 1:50]"), parse_section("[61:70, 1:50]")
    readout = Readout((Amplifier(data, scan, (0, 0)),), (50, 60), method, 2)  # type: ignore[arg-type]
    ours = prepare_image({0: raw}, readout)
    model = models.Polynomial1D(2) if method == "fit" else None
    expected = ccdproc.trim_image(
        ccdproc.subtract_overscan(
            CCDData(raw, unit="adu"), fits_section="[61:70, 1:50]",
            median=method != "mean", model=model,
        ),
        fits_section="[1:60, 1:50]",
    )  # fmt: skip
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, expected.data, rtol=1e-5, atol=1e-3)


def test_overscan_rows_below_the_data_are_taken_per_column() -> None:
    raw = frame(np.random.default_rng(2), (60, 40))
    readout = Readout(
        (Amplifier(parse_section("[1:40,1:50]"), parse_section("[1:40,51:60]"), (0, 0)),), (50, 40)
    )
    expected = ccdproc.trim_image(
        ccdproc.subtract_overscan(
            CCDData(raw, unit="adu"), fits_section="[1:40,51:60]", overscan_axis=None, median=True
        ),
        fits_section="[1:40,1:50]",
    )
    np.testing.assert_allclose(prepare_image({0: raw}, readout), expected.data, rtol=1e-5)


def four_amplifier_frame() -> tuple[np.ndarray, list[tuple[str, str]]]:
    """A 2 x 2 amplifier readout: each quadrant 30 x 20 data with its own level and an
    overscan strip of 5 columns on its outer side (BIASSECA..D, DATASECA..D)."""
    rng = np.random.default_rng(3)
    raw = np.zeros((60, 50))
    sections = [
        ("[6:25,1:30]", "[1:5,1:30]"), ("[26:45,1:30]", "[46:50,1:30]"),
        ("[6:25,31:60]", "[1:5,31:60]"), ("[26:45,31:60]", "[46:50,31:60]"),
    ]  # fmt: skip
    for k, (data, scan) in enumerate(sections):
        level = 900.0 + 100 * k
        for text, signal in ((data, 500.0 + k), (scan, 0.0)):
            rows, cols = parse_section(text).slices
            raw[rows, cols] = level + signal + rng.normal(0, 3, raw[rows, cols].shape)
    return np.round(raw).astype(np.uint16), sections


def test_four_amplifiers_each_lose_their_own_overscan() -> None:
    raw, sections = four_amplifier_frame()
    placements = [(0, 0), (0, 20), (30, 0), (30, 20)]
    amps = tuple(
        Amplifier(parse_section(d), parse_section(s), p)
        for (d, s), p in zip(sections, placements, strict=True)
    )
    ours = prepare_image({0: raw}, Readout(amps, (60, 40)))
    for (data, scan), (r, c) in zip(sections, placements, strict=True):
        # ccdproc subtracts one overscan from a whole frame: give it the amplifier's rows.
        local = [text.split(",")[0] + ",1:30]" for text in (data, scan)]
        ccd = CCDData(raw[r : r + 30], unit="adu")
        ccd = ccdproc.subtract_overscan(ccd, fits_section=local[1], median=True)
        expected = ccdproc.trim_image(ccd, fits_section=local[0]).data
        np.testing.assert_allclose(ours[r : r + 30, c : c + 20], expected, rtol=1e-5, atol=1e-3)
    # Each quadrant's signal (500 + k) is left once its own level is gone.
    assert abs(float(np.median(ours[30:, 20:])) - 503) < 3


def test_amplifiers_must_tile_the_output() -> None:
    raw = np.zeros((10, 10), np.uint16)
    amp = Amplifier(Section((0, 10), (0, 5)), None, (0, 0))
    with pytest.raises(FrameMismatch, match="cover 50 of the 100"):
        prepare_image({0: raw}, Readout((amp,), (10, 10)))


@pytest.mark.parametrize("with_flat", [True, False])
def test_one_pass_calibration_equals_prepare_then_correct(tmp_path, with_flat: bool) -> None:
    raw, sections = four_amplifier_frame()
    path = tmp_path / "quad.fits"
    fits.PrimaryHDU(raw).writeto(path)  # uint16: stored as int16 with BZERO 32768
    placements = [(0, 0), (0, 20), (30, 0), (30, 20)]
    readout = Readout(
        tuple(Amplifier(parse_section(d), parse_section(s), p)
              for (d, s), p in zip(sections, placements, strict=True)),
        (60, 40),
    )  # fmt: skip
    rng = np.random.default_rng(9)
    bias = rng.normal(0, 2, (60, 40)).astype(np.float32)
    dark = rng.uniform(0, 3, (60, 40)).astype(np.float32)
    flat = rng.uniform(0.8, 1.2, (60, 40)).astype(np.float32) if with_flat else None
    one_pass = calibrate_readout(path, readout, bias, dark, 0.5, flat)
    prepared = prepare_image(read_plane_values(path, [0]), readout)
    np.testing.assert_array_equal(one_pass, correct_frame(prepared, bias, dark, 0.5, flat))
    # A float file has no fast path: the same numbers through prepare_image.
    fits.PrimaryHDU(raw.astype(np.float32)).writeto(tmp_path / "float.fits")
    slow = calibrate_readout(tmp_path / "float.fits", readout, bias, dark, 0.5, flat)
    np.testing.assert_array_equal(slow, one_pass)


def test_one_pass_calibration_refuses_a_bad_flat(tmp_path) -> None:
    path = tmp_path / "f.fits"
    fits.PrimaryHDU(np.full((4, 6), 1000, np.uint16)).writeto(path)
    readout = Readout((Amplifier(parse_section("[1:4,1:4]"), parse_section("[5:6,1:4]"), (0, 0)),),
                      (4, 4))  # fmt: skip
    flat = np.ones((4, 4), np.float32)
    flat[1, 2] = 0
    zeros = np.zeros((4, 4), np.float32)
    with pytest.raises(FlatFieldInvalid, match="1 pixels"):
        calibrate_readout(path, readout, zeros, zeros, 0.0, flat)
