"""The calibration frame checks as functions: group outliers, saturated and faint flats."""

from __future__ import annotations

import math

import numpy as np
import pytest

from observatory.calibration import reference
from observatory.calibration.screening import (
    FlatLimits,
    GroupLimits,
    Level,
    flat_flags,
    group_flags,
    measure,
    sample_stride,
    saturated_fraction,
)

LIMITS = GroupLimits(level_sigma=10.0, noise_ratio=1.5)


def test_level_and_noise_are_robust_median_and_sigma() -> None:
    data = np.random.default_rng(1).normal(1000.0, 8.0, (512, 512))
    data[100:110, 100:110] = 60000.0  # hot pixels and a cosmic ray barely move them
    found = measure(data)
    assert found.level_adu == pytest.approx(1000.0, abs=0.2)
    assert found.noise_adu == pytest.approx(8.0, rel=0.03)


@pytest.mark.parametrize("seed", range(12))
def test_level_and_noise_are_astropys_sigma_clipped_stats_exactly(seed: int) -> None:
    """Medians by selection, not by sorting copies; the same numbers, bit for bit, on
    integer and float frames, with hot pixels, NaN, a frame large enough to be sampled
    and one clipped for all three iterations."""
    rng = np.random.default_rng(seed)
    shape = (1100, 1030) if seed % 4 == 0 else tuple(int(n) for n in rng.integers(3, 400, 2))
    data = rng.normal(1000.0, rng.uniform(0.5, 30.0), shape)
    data.ravel()[rng.integers(0, data.size, 1 + data.size // 50)] = 60000.0
    if seed % 3 == 0:
        data.ravel()[rng.integers(0, data.size, 5)] = np.nan
    if seed % 3 == 1:
        data = np.round(data).astype(">u2")
    if seed == 5:
        data = np.concatenate([rng.normal(0, 1, 3000), rng.normal(0, 9, 300),
                               rng.normal(0, 80, 30)]).reshape(37, 90)  # fmt: skip
    assert measure(data) == Level(*reference.clipped_level(data, sample_stride(data.size)))


@pytest.mark.parametrize("shape", [(1024, 1024), (2048, 3072), (4000, 6000), (600, 800)])
def test_a_colour_frame_is_sampled_in_every_filter_of_its_mosaic(shape: tuple[int, int]) -> None:
    """An RGGB dark-subtracted flat, red at 1000 ADU, green 2000, blue 3000: the level
    is the green median; a grid of even step would see only the red (or only one
    filter)."""
    data = np.full(shape, 2000.0)
    data[0::2, 0::2] = 1000.0
    data[1::2, 1::2] = 3000.0
    data += np.random.default_rng(2).normal(0.0, 5.0, shape)
    assert sample_stride(data.size) % 2 == 1
    assert measure(data).level_adu == pytest.approx(2000.0, abs=10.0)


@pytest.mark.parametrize("pixels", [100, 65_536, 1024 * 1024, 9576 * 6388])
def test_about_max_samples_are_taken(pixels: int) -> None:
    stride = sample_stride(pixels)
    assert stride == 1 or pixels / stride**2 >= 65_536 / 4
    assert pixels / stride**2 <= max(pixels, 4 * 65_536)


def test_a_frame_with_no_finite_pixel_has_no_level() -> None:
    found = measure(np.full((10, 10), np.nan))
    assert math.isnan(found.level_adu) and math.isnan(found.noise_adu)


def test_a_frame_off_its_groups_level_or_noisier_is_flagged_with_why() -> None:
    levels = [Level(1000.0 + d, 8.0) for d in (0.0, 1.0, -1.0, 2.0)]
    levels += [Level(1100.0, 8.0), Level(1000.5, 20.0)]
    flags = group_flags("dark", levels, LIMITS)
    assert flags[:4] == [[], [], [], []]
    assert flags[4] == [
        "dark level: 1100.0 ADU is +99.2 ADU from the group's median 1000.8"
        " (more than 10 x the median noise 8.00 ADU)"
    ]
    assert flags[5] == ["dark noise: 20.00 ADU is more than 1.5 x the group's median 8.00 ADU"]


def test_a_group_too_small_for_a_reference_is_not_checked() -> None:
    assert group_flags("bias", [Level(1000.0, 8.0), Level(5000.0, 80.0)], LIMITS) == [[], []]


def test_checks_set_to_none_are_off() -> None:
    levels = [Level(1000.0, 8.0)] * 3 + [Level(2000.0, 80.0)]
    assert group_flags("bias", levels, GroupLimits(None, None)) == [[]] * 4
    assert flat_flags(Level(5.0, 1.0), 0.5, FlatLimits(None, None)) == []


def test_saturated_and_underexposed_flats() -> None:
    plane = np.full((100, 100), 30000, dtype=np.uint16)
    plane[:2] = 65535
    assert saturated_fraction([plane], 65535.0) == pytest.approx(0.02)
    limits = FlatLimits(min_level_adu=100.0, max_saturated_fraction=0.001)
    assert flat_flags(Level(20000.0, 100.0), 0.0, limits) == []
    assert flat_flags(Level(20000.0, 100.0), 0.02, limits) == [
        "flat saturated: 2.00 % of the pixels at the saturation level (more than 0.1 %)"
    ]
    assert flat_flags(Level(40.0, 5.0), 0.0, limits) == [
        "flat underexposed: level 40.0 ADU < 100 ADU"
    ]


def test_the_noise_of_a_quiet_integer_frame_is_not_quantised() -> None:
    rng = np.random.default_rng(3)
    noises = [measure(np.round(rng.normal(500.0, 1.6, (24, 36)))).noise_adu for _ in range(5)]
    assert all(n == pytest.approx(1.6, rel=0.15) for n in noises)
    assert group_flags("bias", [Level(500.0, n) for n in noises], LIMITS) == [[]] * 5
