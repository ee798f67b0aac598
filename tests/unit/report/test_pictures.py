"""Frame pictures: binning, stretch, the WCS grid, and the time a large frame takes."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning
from PIL import Image

from observatory.errors import FrameFormatUnsupported
from observatory.report.pictures import DPI, celestial_wcs, read_binned, render_frame, stretch
from tests.unit.report.seeding import tan_wcs, write_frame


def test_binning_averages_blocks_and_applies_bzero(tmp_path: Path) -> None:
    # uint16 as the camera writes it: int16 words with BZERO 32768.
    data = np.arange(10 * 14, dtype=np.uint16).reshape(10, 14) + 40000
    path = tmp_path / "raw.fits"
    fits.PrimaryHDU(data).writeto(path)
    assert fits.getheader(path)["BZERO"] == 32768

    frame = read_binned(path, max_side_px=7)

    assert frame.factor == 2
    assert frame.full_shape == (10, 14)
    expected = data.astype(np.float64).reshape(5, 2, 7, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(frame.data, expected, rtol=0, atol=1e-3)


def test_binning_crops_a_ragged_edge(tmp_path: Path) -> None:
    data = np.ones((11, 9), np.float32)
    path = tmp_path / "f.fits"
    fits.PrimaryHDU(data).writeto(path)

    frame = read_binned(path, max_side_px=5)

    assert (frame.factor, frame.full_shape, frame.data.shape) == (3, (9, 9), (3, 3))


def test_a_file_without_an_image_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "table.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns([])]).writeto(path)

    with pytest.raises(FrameFormatUnsupported):
        read_binned(path)


def test_a_truncated_file_is_an_os_error(tmp_path: Path) -> None:
    whole = write_frame(tmp_path / "whole.fits", (200, 200)).read_bytes()
    path = tmp_path / "cut.fits"
    path.write_bytes(whole[: len(whole) // 2])

    with pytest.raises(OSError, match="truncated"), pytest.warns(AstropyUserWarning):
        read_binned(path)


def test_stretch_spans_the_grey_levels_and_survives_nan() -> None:
    data = np.random.default_rng(3).normal(100, 5, (64, 64)).astype(np.float32)
    data[0, 0] = np.nan

    grey = stretch(data)

    assert grey.dtype == np.uint8
    assert grey.min() == 0 and grey.max() == 255
    assert 60 < float(np.median(grey)) < 200


def test_only_a_celestial_header_gives_a_wcs() -> None:
    assert celestial_wcs(fits.Header()) is None
    assert celestial_wcs(tan_wcs((100, 100), 10.0, 20.0, 1.0).to_header()) is not None


def test_a_frame_with_wcs_gets_a_coloured_grid(tmp_path: Path) -> None:
    shape = (150, 200)
    source = write_frame(tmp_path / "c.fits", shape, wcs=tan_wcs(shape, 83.8, -5.4, 2.0))

    with_grid = render_frame(source, tmp_path / "grid.png", grid=True)
    plain = render_frame(source, tmp_path / "plain.png", grid=False)

    assert with_grid.with_grid and not plain.with_grid
    # The plain picture is the binned frame itself, grey; the gridded one has margins
    # for the labels and cyan lines.
    assert (plain.width_px, plain.height_px) == (200, 150)
    assert Image.open(plain.path).mode == "L"
    assert with_grid.width_px > 200 and with_grid.height_px > 150
    rgb = np.asarray(Image.open(with_grid.path).convert("RGB")).astype(int)
    cyan = (rgb[..., 2] - rgb[..., 0] > 80) & (rgb[..., 1] - rgb[..., 0] > 80)
    assert cyan.sum() > 200


def test_a_frame_without_wcs_is_drawn_plain_even_when_a_grid_is_asked(tmp_path: Path) -> None:
    source = write_frame(tmp_path / "m.fits", (40, 50))

    picture = render_frame(source, tmp_path / "m.png", grid=True)

    assert not picture.with_grid
    assert (picture.width_px, picture.height_px) == (50, 40)


def test_a_4096_frame_renders_in_well_under_a_second(tmp_path: Path) -> None:
    shape = (4096, 4096)
    data = np.random.default_rng(1).normal(1000, 10, shape).astype(np.uint16)
    header = tan_wcs(shape, 150.0, 30.0, 0.8).to_header()
    path = tmp_path / "big.fits"
    fits.PrimaryHDU(data, header=header).writeto(path)
    render_frame(path, tmp_path / "warm.png", grid=True)  # imports, font cache

    started = time.perf_counter()
    picture = render_frame(path, tmp_path / "big.png", grid=True)
    elapsed_s = time.perf_counter() - started

    assert picture.with_grid and max(picture.width_px, picture.height_px) < 1000
    # Typically 0.3 s; the bound leaves room for a busy machine.
    assert elapsed_s < 2.0


@pytest.mark.parametrize("grid", [False, True])
@pytest.mark.parametrize("row_order", [None, "TOP-DOWN", "BOTTOM-UP"])
def test_the_picture_s_top_is_the_image_s_top(
    tmp_path: Path, row_order: str | None, grid: bool
) -> None:
    # The file's first rows bright: the top of a top-down image, else its bottom.
    shape = (120, 160)
    data = np.full(shape, 1000.0, dtype=np.float32)
    data[:30] = 5000.0
    header = tan_wcs(shape, 83.8, -5.4, 2.0).to_header() if grid else fits.Header()
    if row_order is not None:
        header["ROWORDER"] = row_order
    source = tmp_path / "f.fits"
    fits.PrimaryHDU(data, header=header).writeto(source)
    picture = render_frame(source, tmp_path / "f.png", grid=grid)
    grey = np.asarray(Image.open(picture.path).convert("L")).astype(float)
    if grid:  # the image without the figure's margins (0.15 in above it)
        first = round(0.15 * DPI)
        grey = grey[first : first + shape[0], -shape[1] - round(0.25 * DPI) : -round(0.25 * DPI)]
    top, bottom = grey[: len(grey) // 3].mean(), grey[-len(grey) // 3 :].mean()
    assert (top > bottom) == (row_order == "TOP-DOWN")
