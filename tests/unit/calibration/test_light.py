"""Light calibration: a uniformly lit sky comes out flat, at the expected noise."""

import dataclasses

import numpy as np
import pytest

from observatory.calibration import (
    calibrate_light,
    central_region,
    make_master_bias,
    make_master_dark,
    make_master_flat,
)
from observatory.errors import FlatFieldInvalid, FrameMismatch, MasterFrameMissing
from tests.unit.calibration.conftest import write_frames

SHAPE = (80, 112)
BIAS_ADU, READ_NOISE_ADU, DARK_ADU_PER_S = 800.0, 6.0, 0.05


@pytest.fixture
def masters(tmp_path, rng):
    def raw(signal):
        frame = BIAS_ADU + rng.poisson(signal) + rng.normal(0, READ_NOISE_ADU, SHAPE)
        return np.clip(np.rint(frame), 0, 65535).astype(np.uint16)

    rows, cols = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]]
    gain = 0.8 + 0.4 * cols / SHAPE[1] + 0.05 * np.cos(rows / 4.0)
    bias = make_master_bias([raw(np.zeros(SHAPE)) for _ in range(25)], method="mean")
    dark = make_master_dark(
        [raw(np.full(SHAPE, DARK_ADU_PER_S * 300)) for _ in range(25)], bias, 300.0, method="mean"
    )
    flat = make_master_flat([gain * 1e4, gain * 2e4, gain * 3e4], filter_name="B")
    return {"bias": bias, "dark": dark, "flat": flat, "gain": gain, "raw": raw}


def test_calibrated_sky_is_flat_at_the_expected_noise(tmp_path, masters):
    sky_adu, exposure_s = 2500.0, 100.0
    gain = masters["gain"]
    signal = sky_adu * gain + DARK_ADU_PER_S * exposure_s
    path = write_frames(tmp_path, [masters["raw"](signal)], EXPTIME=exposure_s, FILTER="B")[0]
    light = calibrate_light(path, masters["bias"], masters["dark"], masters["flat"])
    rows, cols = central_region(SHAPE, 0.5)
    level = sky_adu * np.median(gain[rows, cols])  # the flat is 1 in its centre
    response = gain / np.median(gain[rows, cols])
    # Shot noise of sky and dark, read noise, rounding, and the masters' own noise.
    variance = (
        sky_adu * gain
        + DARK_ADU_PER_S * exposure_s
        + READ_NOISE_ADU**2
        + 1 / 12
        + (READ_NOISE_ADU**2 + 1 / 12) / 25 * (1 + (exposure_s / 300) ** 2)
    ) / response**2
    expected_std = np.sqrt(variance.mean())
    assert light.data.dtype == np.float32
    assert light.data.mean() == pytest.approx(
        level, abs=4 * expected_std / np.sqrt(light.data.size)
    )
    assert light.data.std() == pytest.approx(expected_std, rel=5 / np.sqrt(2 * light.data.size))
    # No trace of the gain pattern is left: column means are flat within their noise.
    column_means = light.data.mean(axis=0)
    assert np.abs(column_means - level).max() < 5 * expected_std / np.sqrt(SHAPE[0])
    header = light.header
    assert header["DARKSCAL"] == pytest.approx(1 / 3)
    assert header["FILTER"] == "B" and header["CALSTAT"] == "BDF"
    assert "BZERO" not in header


def test_engines_agree_and_arrays_need_an_exposure(masters):
    frame = masters["raw"](np.full(SHAPE, 1000.0))
    options = {"exposure_s": 50.0}
    compiled = calibrate_light(frame, masters["bias"], masters["dark"], masters["flat"], **options)
    numpy = calibrate_light(
        frame, masters["bias"], masters["dark"], masters["flat"], engine="numpy", **options
    )
    assert np.array_equal(compiled.data, numpy.data)
    with pytest.raises(ValueError, match="exposure time unknown"):
        calibrate_light(frame, masters["bias"], masters["dark"], masters["flat"])


def test_refusals(tmp_path, masters):
    bias, dark, flat = masters["bias"], masters["dark"], masters["flat"]
    frame = np.zeros(SHAPE, np.uint16)
    holed = flat.data.copy()
    holed[3, 4] = 0.0
    holed[5, 6] = np.nan
    with pytest.raises(FlatFieldInvalid, match="2 pixels"):
        calibrate_light(frame, bias, dark, dataclasses.replace(flat, data=holed), exposure_s=1)
    with pytest.raises(FrameMismatch, match="shape"):
        calibrate_light(np.zeros((8, 8)), bias, dark, flat, exposure_s=1)
    red = write_frames(tmp_path, [frame], EXPTIME=5.0, FILTER="R")[0]
    with pytest.raises(FrameMismatch, match="filter"):
        calibrate_light(red, bias, dark, flat)
    with pytest.raises(MasterFrameMissing):
        calibrate_light(frame, bias, dark, flat, exposure_s=1, allow_dark_scaling=False)
    with pytest.raises(ValueError, match="expected a master flat"):
        calibrate_light(frame, bias, dark, dark, exposure_s=1)
