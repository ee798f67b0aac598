"""Reading frames: astropy's values for every storage layout, and clear refusals."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.nddata import CCDData

from observatory.calibration import combine_frames
from observatory.calibration.fitslayout import read_image_layout
from observatory.calibration.sources import FrameStack
from observatory.errors import FrameFormatUnsupported, FrameMismatch
from tests.unit.calibration.conftest import write_frames

LAYOUTS = [
    (np.uint16, {}),  # BZERO=32768 written by astropy: the camera convention
    (np.int16, {}),
    (np.int16, {"BZERO": 100}),
    (np.int16, {"BSCALE": 0.25, "BZERO": -3.5}),
    (np.int16, {"BLANK": -32768, "BZERO": 7}),
    (np.uint8, {}),
    (np.int32, {"BSCALE": 2}),
    (np.float32, {}),
    (np.float64, {"BZERO": 1.5}),
]


@pytest.mark.parametrize(("dtype", "cards"), LAYOUTS)
def test_values_are_astropys(tmp_path, rng, dtype, cards):
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    raw = (
        rng.integers(info.min, info.max, (11, 13), endpoint=True).astype(dtype)
        if info
        else rng.normal(0, 100, (11, 13)).astype(dtype)
    )
    path = tmp_path / "frame.fits"
    hdu = fits.PrimaryHDU(raw)
    if cards:  # store the raw numbers and let the cards say how to scale them
        hdu = fits.PrimaryHDU(raw, do_not_scale_image_data=True)
        hdu.header.update(cards)
    hdu.writeto(path)
    expected = fits.getdata(path)
    with fits.open(path) as hdus:  # the fast header reader agrees with astropy
        header, layout = hdus[0].header, read_image_layout(path)
        assert layout.data_offset == hdus.fileinfo(0)["datLoc"]
        assert layout.shape == expected.shape and layout.bitpix == header["BITPIX"]
        assert (layout.bzero, layout.bscale) == (header.get("BZERO", 0), header.get("BSCALE", 1))
    with FrameStack([path]) as stack:
        values = stack.values(0, 2, 9)
        if stack.fast_int16:
            values = values + stack.offset
        np.testing.assert_array_equal(values, expected[2:9])
        assert stack.value_dtype == expected.dtype.newbyteorder("=") or stack.fast_int16
    # Any layout combines to what astropy's data give.
    median = combine_frames([path, path, path], "median", dtype=np.float64)
    np.testing.assert_array_equal(median, expected.astype(np.float64))


def test_long_headers_and_odd_cards(tmp_path):
    data = np.arange(12, dtype=np.int16).reshape(3, 4)
    hdu = fits.PrimaryHDU(data, do_not_scale_image_data=True)
    for index in range(60):  # header spans two blocks
        hdu.header[f"KEY{index}"] = (index, "padding")
    hdu.header["HISTORY"] = "BZERO = 5 in a history card changes nothing"
    hdu.header["BZERO"] = 1.5e1
    path = tmp_path / "long.fits"
    hdu.writeto(path)
    layout = read_image_layout(path)
    assert layout.data_offset == 2 * 2880 and layout.bzero == 15.0
    np.testing.assert_array_equal(combine_frames([path], "median"), fits.getdata(path))


def test_image_in_an_extension_is_found(tmp_path):
    data = np.arange(20, dtype=np.uint16).reshape(4, 5)
    path = tmp_path / "ext.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data)]).writeto(path)
    layout = read_image_layout(path)
    assert layout.shape == (4, 5) and layout.data_offset > 2880
    np.testing.assert_array_equal(combine_frames([path], "median"), data)


def test_refusals(tmp_path, rng):
    good = write_frames(tmp_path, [np.zeros((4, 5), np.uint16)] * 2, prefix="good")
    other = write_frames(tmp_path, [np.zeros((5, 4), np.uint16)], prefix="other")
    with pytest.raises(FrameMismatch, match="differ in shape"):
        combine_frames([*good, *other])
    with pytest.raises(FrameMismatch, match="no frames"):
        combine_frames([])
    with pytest.raises(FrameMismatch, match="not 2-D"):
        combine_frames([np.zeros(5), np.zeros(5)])
    compressed = tmp_path / "compressed.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(np.zeros((4, 5), np.int16))]).writeto(
        compressed
    )
    with pytest.raises(FrameFormatUnsupported, match="compressed"):
        combine_frames([compressed, compressed])
    empty = tmp_path / "empty.fits"
    fits.PrimaryHDU().writeto(empty)
    with pytest.raises(FrameFormatUnsupported, match="no HDU"):
        combine_frames([empty])
    truncated = tmp_path / "truncated.fits"
    truncated.write_bytes(good[0].read_bytes()[: 2880 + 10])
    with pytest.raises(FrameFormatUnsupported, match="ends inside"):
        combine_frames([truncated, good[1]])
    masked = CCDData(np.zeros((4, 5)), unit="adu", mask=np.eye(4, 5, dtype=bool))
    with pytest.raises(ValueError, match="masked"):
        combine_frames([masked, masked])
    with pytest.raises(ValueError, match="unknown combine method"):
        combine_frames(good, "mode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="float32 or float64"):
        combine_frames(good, dtype=np.int16)
    with pytest.raises(ValueError, match="scales"):
        combine_frames(good, scales=[1.0])
    with pytest.raises(FileNotFoundError):
        combine_frames([tmp_path / "missing.fits"])


def test_files_are_closed_after_combining(tmp_path, rng):
    import os

    paths = write_frames(tmp_path, [np.ones((6, 7), np.uint16)] * 4)
    before = len(os.listdir("/proc/self/fd"))
    combine_frames(paths, "median")
    with pytest.raises(FrameMismatch):
        combine_frames([*paths, np.zeros((2, 2))])
    assert len(os.listdir("/proc/self/fd")) == before
