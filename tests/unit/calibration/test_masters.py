"""Master bias, dark and flat on seeded synthetic frames with known properties."""

import numpy as np
import pytest

from observatory.calibration import (
    SigmaClip,
    central_region,
    correct_flat,
    dark_scale,
    make_master_bias,
    make_master_dark,
    make_master_flat,
)
from observatory.errors import FlatFieldInvalid, FrameMismatch, MasterFrameMissing
from tests.unit.calibration.conftest import write_frames

SHAPE = (96, 128)
BIAS_ADU = 1000.0
READ_NOISE_ADU = 8.0


def bias_frames(rng, count):
    return [
        np.rint(rng.normal(BIAS_ADU, READ_NOISE_ADU, SHAPE)).astype(np.uint16) for _ in range(count)
    ]


@pytest.mark.parametrize("count", [4, 16, 36])
def test_master_bias_noise_falls_as_read_noise_over_sqrt_n(tmp_path, rng, count):
    paths = write_frames(tmp_path, bias_frames(rng, count), EXPTIME=0.0)
    master = make_master_bias(paths, method="mean")
    # Rounding to integers adds 1/12 adu^2 of variance to each frame.
    expected = np.sqrt(READ_NOISE_ADU**2 + 1 / 12) / np.sqrt(count)
    # The std of M pixels is known to about 1/sqrt(2M): allow 5 of those.
    tolerance = 5 * expected / np.sqrt(2 * master.data.size)
    assert master.statistics.std == pytest.approx(expected, abs=tolerance)
    assert master.statistics.mean == pytest.approx(BIAS_ADU, abs=5 * expected / 100)
    assert master.statistics.frame_count == count
    assert master.exposure_s == 0.0 and master.data.dtype == np.float32


def test_median_bias_is_noisier_than_mean_but_rejects_hot_pixels(tmp_path, rng):
    frames = bias_frames(rng, 15)
    frames[3][10, 10] = 60000
    paths = write_frames(tmp_path, frames)
    mean = make_master_bias(paths, method="mean")
    median = make_master_bias(paths)
    clipped = make_master_bias(paths, method="sigma_clip", clip=SigmaClip(3, 3, None))
    # A median of 15 normal values has about 1.2x the scatter of their mean.
    elsewhere = np.ones(SHAPE, bool)
    elsewhere[10, 10] = False
    assert 1.1 < median.data[elsewhere].std() / mean.data[elsewhere].std() < 1.35
    assert mean.data[10, 10] > BIAS_ADU + 3000
    assert abs(median.data[10, 10] - BIAS_ADU) < 10
    assert abs(clipped.data[10, 10] - BIAS_ADU) < 10
    assert median.header["COMBMETH"] == "median" and median.header["NCOMBINE"] == 15
    assert median.header["IMCMB001"] == "frame000.fits"
    assert clipped.header["CLIPITER"] == 0


def test_master_dark_recovers_the_dark_current(tmp_path, rng):
    exposure_s, rate_adu_per_s = 120.0, 0.75
    hot = np.zeros(SHAPE)
    hot[5:8, 40:44] = 20.0  # hot pixels: 20 adu/s
    expected = (rate_adu_per_s + hot) * exposure_s
    darks = [
        np.rint(BIAS_ADU + rng.poisson(expected) + rng.normal(0, READ_NOISE_ADU, SHAPE))
        for _ in range(11)
    ]
    bias = make_master_bias(write_frames(tmp_path, bias_frames(rng, 11), prefix="bias"))
    dark_paths = write_frames(tmp_path, [d.astype(np.uint16) for d in darks], prefix="dark")
    master = make_master_dark(dark_paths, bias, exposure_s, method="mean")
    per_second = master.data / exposure_s
    assert np.median(per_second) == pytest.approx(rate_adu_per_s, rel=0.01)
    assert np.median(per_second[5:8, 40:44]) == pytest.approx(20.75, rel=0.01)
    assert master.exposure_s == exposure_s and master.header["EXPTIME"] == exposure_s
    assert master.header["BIASFILE"] == "unnamed bias"
    assert dark_scale(master, exposure_s) == 1.0
    assert dark_scale(master, 30.0) == 0.25
    with pytest.raises(MasterFrameMissing, match="scaling is not allowed"):
        dark_scale(master, 30.0, allow_scaling=False)
    with pytest.raises(ValueError, match="not a master dark"):
        dark_scale(bias, 30.0)
    with pytest.raises(ValueError, match="positive exposure"):
        make_master_dark(dark_paths, bias, 0.0)
    with pytest.raises(FrameMismatch):
        make_master_dark([np.zeros((4, 4))] * 3, bias, exposure_s)


def gain_pattern() -> np.ndarray:
    rows, cols = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]]
    vignetting = 1 - 0.3 * (((rows - 48) / 96) ** 2 + ((cols - 64) / 128) ** 2)
    return vignetting * (1 + 0.02 * np.sin(cols / 3.0))


def test_central_region():
    assert central_region((100, 200), 0.5) == (slice(25, 75), slice(50, 150))
    assert central_region((100, 200), 1.0) == (slice(0, 100), slice(0, 200))
    assert central_region((3, 3), 0.01) == (slice(1, 2), slice(1, 2))
    with pytest.raises(ValueError):
        central_region((3, 3), 0)


def test_flat_dark_correction_then_normalised_master_flat(tmp_path, rng):
    bias = make_master_bias(write_frames(tmp_path, bias_frames(rng, 9), prefix="bias"))
    dark_frames = [
        np.rint(BIAS_ADU + 60.0 + rng.normal(0, READ_NOISE_ADU, SHAPE)).astype(np.uint16)
        for _ in range(9)
    ]
    dark = make_master_dark(write_frames(tmp_path, dark_frames, prefix="dark"), bias, 60.0)
    gain = gain_pattern()
    corrected = []
    for index, level in enumerate([15000.0, 22000.0, 30000.0, 18000.0, 26000.0]):
        raw = BIAS_ADU + 1.0 * 10 + rng.poisson(level * gain)  # 10 s: 10 adu of dark
        path = write_frames(tmp_path, [raw.astype(np.uint16)], prefix=f"flat{index}", EXPTIME=10.0)
        flat = correct_flat(path[0], bias, dark)
        assert flat.header["DARKSCAL"] == pytest.approx(10 / 60)
        assert flat.data.dtype == np.float32
        corrected.append(flat.data)
    master = make_master_flat(corrected, filter_name="V")
    rows, cols = central_region(SHAPE, 0.5)
    assert np.median(master.data[rows, cols]) == pytest.approx(1.0, abs=1e-6)
    truth = gain / np.median(gain[rows, cols])
    # Five flats of >= 15000 adu: about 0.4 % noise per pixel in the master.
    assert np.std(master.data / truth) < 0.006
    assert abs(np.mean(master.data / truth) - 1) < 0.001
    assert master.filter_name == "V" and master.header["FILTER"] == "V"
    assert master.header["FLATFRAC"] == 0.5
    whole = make_master_flat(corrected, filter_name="V", normalisation_fraction=1.0)
    assert np.median(whole.data) == pytest.approx(1.0, abs=1e-6)


def test_flats_with_no_light_or_many_dead_pixels_are_refused(rng):
    good = [rng.normal(1000, 10, (20, 20)) for _ in range(3)]
    with pytest.raises(FlatFieldInvalid, match="level"):
        make_master_flat([*good, np.zeros((20, 20))], filter_name="R")
    blank = np.full((20, 20), np.nan)
    blank[0, 0] = 1000.0  # a corner, outside the central region the level is taken from
    with pytest.raises(FlatFieldInvalid, match="no finite pixel in its centre"):
        make_master_flat([*good, blank], filter_name="R")
    dead = [frame.copy() for frame in good]
    for frame in dead:
        frame[4:6, 7] = 0.0  # 2 of 400 pixels: more than 0.1 %, not a camera's defects
    with pytest.raises(FlatFieldInvalid, match=r"2 pixels \(0.5 %\) below 0.01.*row 4, column 7"):
        make_master_flat(dead, filter_name="R", max_replaced_fraction=0.001)


def test_dead_and_nan_pixels_of_a_master_flat_are_set_to_one_and_counted(rng):
    """A dead column (no signal left after bias and dark) or one flagged NaN is in every
    flat of a real CCD; the master keeps 1.0 there (the light's pixel is left
    uncorrected, as IRAF's ccdproc minreplace and ccdproc's min_value do) instead of
    refusing the whole master, and says how many."""
    flats = [rng.normal(1000, 10, (60, 250)) for _ in range(3)]
    for frame in flats:
        frame[:, 7] = rng.normal(0, 3, 60)  # dead: noise around zero after bias and dark
        frame[:, 9] = np.nan  # flagged bad by the camera's software
    master = make_master_flat(flats, filter_name="R")
    assert (master.data[:, 7] == 1.0).all() and (master.data[:, 9] == 1.0).all()
    assert master.header["FLATREPL"] == 120
    assert master.statistics.nonfinite_pixels == 0
    assert "120 pixels below 0.01 or not finite set to 1" in "".join(master.header["HISTORY"])
    clean = np.delete(master.data, [7, 9], axis=1)
    assert np.median(clean) == pytest.approx(1.0, abs=0.01) and (clean != 1.0).all()
    healthy = make_master_flat([rng.normal(1000, 10, (40, 50)) for _ in range(3)], filter_name="R")
    assert healthy.header["FLATREPL"] == 0


def test_flat_needs_an_exposure_time(tmp_path, rng):
    bias = make_master_bias(bias_frames(rng, 3))
    dark = make_master_dark(bias_frames(rng, 3), bias, 10.0)
    with pytest.raises(ValueError, match="exposure time unknown"):
        correct_flat(np.ones(SHAPE), bias, dark)
    with pytest.raises(ValueError, match="expected a master dark"):
        correct_flat(np.ones(SHAPE), bias, bias, exposure_s=1.0)
