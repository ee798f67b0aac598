"""A master dark made without a master bias: it keeps the bias level, says so, and
serves only frames of its own exposure."""

import numpy as np
import pytest

from observatory.calibration import (
    calibrate_light,
    correct_flat,
    dark_scale,
    make_master_bias,
    make_master_dark,
)
from observatory.errors import MasterFrameMissing
from tests.unit.calibration.conftest import camera_frames, write_frames

SHAPE = (20, 30)
BIAS_ADU, DARK_ADU = 1000.0, 120.0


def test_the_dark_keeps_the_bias_level_and_says_so(rng):
    frames = camera_frames(rng, 5, SHAPE, BIAS_ADU + DARK_ADU, 3.0)
    dark = make_master_dark(frames, None, 60.0)
    assert dark.header["BIASINCL"] is True and "BIASFILE" not in dark.header
    assert abs(float(np.median(dark.data)) - (BIAS_ADU + DARK_ADU)) < 2.0
    assert dark_scale(dark, 60.0) == 1.0
    why = r"no matching dark for 30 s: .* is 60 s and holds the bias level \(no master bias\)"
    with pytest.raises(MasterFrameMissing, match=why):
        dark_scale(dark, 30.0)


def test_a_shutter_s_jitter_is_the_same_exposure_unscaled(rng):
    dark = make_master_dark(camera_frames(rng, 5, SHAPE, BIAS_ADU + DARK_ADU, 3.0), None, 60.012)
    # Within 0.1 % of 60 s: the bias cannot be scaled, and needs not be.
    assert dark_scale(dark, 60.009) == dark_scale(dark, 59.97) == 1.0
    with pytest.raises(MasterFrameMissing, match=r"no matching dark for 60\.1 s"):
        dark_scale(dark, 60.1)


def test_a_frame_of_its_exposure_is_corrected_by_the_dark_alone(tmp_path, rng):
    dark = make_master_dark(camera_frames(rng, 5, SHAPE, BIAS_ADU + DARK_ADU, 3.0), None, 2.0)
    flat = write_frames(tmp_path, [np.full(SHAPE, 21120, np.uint16)], EXPTIME=2.0)[0]
    corrected = correct_flat(flat, None, dark)
    assert abs(float(np.median(corrected.data)) - 20000.0) < 2.0
    assert "BIASFILE" not in corrected.header and corrected.header["DARKSCAL"] == 1.0
    light = calibrate_light(flat, None, dark, None)
    assert np.array_equal(light.data, corrected.data)


def test_a_master_bias_is_not_taken_a_second_time(tmp_path, rng):
    bias = make_master_bias(camera_frames(rng, 5, SHAPE, BIAS_ADU, 3.0))
    dark = make_master_dark(camera_frames(rng, 5, SHAPE, BIAS_ADU + DARK_ADU, 3.0), None, 2.0)
    flat = write_frames(tmp_path, [np.full(SHAPE, 21120, np.uint16)], EXPTIME=2.0)[0]
    for calibrate in (correct_flat, calibrate_light):
        with pytest.raises(ValueError, match=r"holds the bias level: subtracting .* too"):
            calibrate(flat, bias, dark, *([None] if calibrate is calibrate_light else []))
