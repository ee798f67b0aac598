"""Frame synthesis: noise statistics, dark current, flats, stars, determinism."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from observatory.simulator.sky.catalogue import StarCatalogue
from observatory.simulator.sky.frame import FrameSynthesizer, Scene
from observatory.simulator.sky.readout import Readout
from tests.unit.simulator_sky.conftest import dark_scene

FULL = Readout(0, 0, 256, 256)
Make = Callable[..., FrameSynthesizer]


def normal_pixels(synthesizer: FrameSynthesizer) -> np.ndarray:
    """Mask of pixels that are not hot."""
    mask = np.ones(synthesizer.sensor.shape, dtype=bool)
    x, y, _ = synthesizer.sensor.hot_pixels
    mask[x, y] = False
    return mask


def test_read_noise_from_two_biases_matches_config(make_synthesizer: Make) -> None:
    synthesizer = make_synthesizer(
        read_noise_e=7.0, gain_e_per_adu=2.0, cosmic_rays_per_cm2_per_min=0
    )
    first = synthesizer.render(dark_scene(0.0, 1), FULL).astype(np.float64)
    second = synthesizer.render(dark_scene(0.0, 2), FULL).astype(np.float64)
    read_noise_adu = np.std(first - second) / np.sqrt(2.0)
    assert read_noise_adu * 2.0 == pytest.approx(7.0, rel=0.03)


def test_bias_level_and_fixed_pattern(make_synthesizer: Make) -> None:
    synthesizer = make_synthesizer(bias_level_adu=500.0, cosmic_rays_per_cm2_per_min=0)
    frames = [synthesizer.render(dark_scene(0.0, n), FULL).astype(np.float64) for n in range(4)]
    assert np.mean(frames) == pytest.approx(500.0 + 3.0, abs=1.0)  # level + half the gradient
    # The column pattern repeats from frame to frame: column means correlate strongly.
    columns = [frame.mean(axis=1) for frame in frames]
    assert np.corrcoef(columns[0], columns[1])[0, 1] > 0.8


def test_dark_current_grows_with_time_and_doubles_every_6_kelvin(make_synthesizer: Make) -> None:
    synthesizer = make_synthesizer(
        dark_current_e_per_s=2.0, gain_e_per_adu=1.0, cosmic_rays_per_cm2_per_min=0
    )
    keep = normal_pixels(synthesizer)
    bias = np.mean([synthesizer.render(dark_scene(0.0, n), FULL)[keep].mean() for n in range(3)])

    def dark_e(exposure_s: float, temperature_c: float, number: int) -> float:
        frame = synthesizer.render(dark_scene(exposure_s, number, temperature_c), FULL)
        return float(frame[keep].mean() - bias)

    at_10s = dark_e(10.0, -10.0, 10)
    at_40s = dark_e(40.0, -10.0, 11)
    warmer = dark_e(10.0, -4.0, 12)
    assert at_10s == pytest.approx(20.0, rel=0.05)
    assert at_40s / at_10s == pytest.approx(4.0, rel=0.05)
    assert warmer / at_10s == pytest.approx(2.0, rel=0.05)


def test_hot_pixels_stay_put_and_stand_out(make_synthesizer: Make) -> None:
    synthesizer = make_synthesizer(hot_pixel_fraction=1e-3, cosmic_rays_per_cm2_per_min=0)
    x, y, factors = synthesizer.sensor.hot_pixels
    assert len(x) == round(1e-3 * 256 * 256)
    dark = synthesizer.render(dark_scene(300.0, 1, 0.0), FULL).astype(np.float64)
    hottest = np.argsort(factors)[-5:]
    median = np.median(dark)
    assert (dark[x[hottest], y[hottest]] > median + 1000).all()
    again = make_synthesizer(hot_pixel_fraction=1e-3).sensor.hot_pixels
    np.testing.assert_array_equal(again[0], x)


def test_flat_response_differs_per_filter(make_synthesizer: Make) -> None:
    synthesizer = make_synthesizer()
    red, blue = synthesizer.flat_response("R"), synthesizer.flat_response("B")
    assert red.max() <= 1.1 and red[128, 128] == pytest.approx(1.0, abs=0.05)
    assert red[0, 0] < 0.85  # vignetted corner
    ratio = red / blue
    assert ratio.std() > 0.005  # not a constant factor: structure differs
    unknown = synthesizer.flat_response("Sloan-z")
    assert not np.allclose(unknown, synthesizer.flat_response("default"))


def test_flat_frame_carries_the_flat_response(make_synthesizer: Make) -> None:
    synthesizer = make_synthesizer(cosmic_rays_per_cm2_per_min=0, gain_e_per_adu=1.0)
    lit = Scene(
        exposure_s=1.0,
        light=True,
        exposure_number=1,
        sensor_temperature_c=-20.0,
        filter_name="R",
        flat_panel_e_per_s=30000.0,
    )
    frames = [
        synthesizer.render(Scene(**{**lit.__dict__, "exposure_number": n}), FULL) for n in range(3)
    ]
    mean = np.mean(frames, axis=0) - 1000.0
    expected = synthesizer.flat_response("R") * 30000.0 * 0.9  # R passes 0.9 of the panel
    # Shot noise of 27 ke- averaged over 3 frames leaves about 0.35 % per pixel.
    assert np.corrcoef(mean.ravel(), expected.ravel())[0, 1] > 0.98
    assert np.median(mean / expected) == pytest.approx(1.0, abs=0.01)


def test_no_sky_without_light(make_synthesizer: Make) -> None:
    synthesizer = make_synthesizer(cosmic_rays_per_cm2_per_min=0)
    dark = Scene(
        exposure_s=60.0,
        light=False,
        exposure_number=1,
        sensor_temperature_c=-20.0,
        filter_name="L",
        sky_visible=True,
        flat_panel_e_per_s=1000.0,
    )
    closed = Scene(
        **{**dark.__dict__, "light": True, "sky_visible": False, "flat_panel_e_per_s": 0.0}
    )
    open_sky = Scene(**{**closed.__dict__, "sky_visible": True})
    levels = [synthesizer.render(scene, FULL).mean() for scene in (dark, closed, open_sky)]
    assert levels[0] == pytest.approx(levels[1], abs=1.0)
    assert levels[2] > levels[1] + 50


def test_saturation_clips_at_full_well(make_synthesizer: Make) -> None:
    synthesizer = make_synthesizer(full_well_e=50000.0, gain_e_per_adu=1.0, max_adu=65535)
    scene = Scene(
        exposure_s=10.0,
        light=True,
        exposure_number=1,
        sensor_temperature_c=-20.0,
        flat_panel_e_per_s=100000.0,
    )
    image = synthesizer.render(scene, FULL)
    assert image.dtype == np.uint16
    assert image.max() < 1000 + 50000 + 100
    tiny_adc = make_synthesizer(max_adu=4095).render(scene, FULL)
    assert tiny_adc.max() == 4095


def test_seeded_determinism_and_fresh_noise(make_synthesizer: Make) -> None:
    first = make_synthesizer(seed=9).render(dark_scene(5.0, 3), FULL)
    again = make_synthesizer(seed=9).render(dark_scene(5.0, 3), FULL)
    next_exposure = make_synthesizer(seed=9).render(dark_scene(5.0, 4), FULL)
    other_seed = make_synthesizer(seed=10).render(dark_scene(5.0, 3), FULL)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, next_exposure)
    assert not np.array_equal(first, other_seed)


def test_subframe_is_a_cut_of_the_full_frame(make_synthesizer: Make) -> None:
    synthesizer = make_synthesizer()
    scene = Scene(
        exposure_s=20.0,
        light=True,
        exposure_number=5,
        sensor_temperature_c=-5.0,
        flat_panel_e_per_s=500.0,
    )
    full = synthesizer.render(scene, FULL)
    cut = synthesizer.render(scene, Readout(40, 70, 100, 50))
    np.testing.assert_array_equal(cut, full[40:140, 70:120])


def test_binning_sums_charge_with_one_read_noise(make_synthesizer: Make) -> None:
    synthesizer = make_synthesizer(
        gain_e_per_adu=1.0, read_noise_e=5.0, cosmic_rays_per_cm2_per_min=0, hot_pixel_fraction=0.0
    )
    scene = Scene(
        exposure_s=1.0,
        light=True,
        exposure_number=1,
        sensor_temperature_c=-30.0,
        flat_panel_e_per_s=100.0,
    )
    bias = Scene(**{**scene.__dict__, "exposure_s": 0.0, "exposure_number": 2})
    binning = Readout(0, 0, 128, 64, 2, 4)

    def signal(readout: Readout) -> np.ndarray:
        light = synthesizer.render(scene, readout).astype(np.float64)
        return light - synthesizer.render(bias, readout).astype(np.float64)

    unbinned, binned = signal(FULL), signal(binning)
    assert binned.shape == (128, 64)
    assert binned.mean() == pytest.approx(unbinned.mean() * 8, rel=0.01)
    # Two exposures differ by the shot noise of 8 pixels and the read noise of one.
    other = Scene(**{**scene.__dict__, "exposure_number": 3})
    difference = synthesizer.render(other, binning).astype(np.float64)
    difference -= synthesizer.render(scene, binning).astype(np.float64)
    expected_std = np.sqrt(2 * (binned.mean() + 5.0**2))
    assert difference.std() == pytest.approx(expected_std, rel=0.05)


def test_bad_subframes_are_refused(make_synthesizer: Make) -> None:
    synthesizer = make_synthesizer()
    with pytest.raises(ValueError):
        synthesizer.render(dark_scene(1.0, 1), Readout(0, 0, 129, 10, 2, 2))
    with pytest.raises(ValueError):
        synthesizer.render(dark_scene(-1.0, 1), FULL)


def test_cosmic_rays_grow_with_exposure_time(make_synthesizer: Make) -> None:
    synthesizer = make_synthesizer(
        cosmic_rays_per_cm2_per_min=200.0, hot_pixel_fraction=0.0, dark_current_e_per_s=0.0
    )

    def hits(exposure_s: float) -> int:
        image = synthesizer.render(dark_scene(exposure_s, 1), FULL).astype(np.float64)
        return int((image > np.median(image) + 150).sum())

    assert hits(600.0) > 5 * hits(30.0) > 0


def test_stars_land_where_the_projection_puts_them(
    make_synthesizer: Make, catalogue: StarCatalogue
) -> None:
    synthesizer = make_synthesizer(
        catalogue=catalogue,
        pixel_scale_arcsec=20.0,
        cosmic_rays_per_cm2_per_min=0,
        hot_pixel_fraction=0.0,
    )
    pointing = (83.8, -5.4)  # Orion: bright stars in a 1.4-degree field
    scene = Scene(
        exposure_s=0.2,
        light=True,
        exposure_number=1,
        sensor_temperature_c=-20.0,
        filter_name="V",
        sky_visible=True,
        pointing_deg=pointing,
    )
    image = synthesizer.render(scene, FULL).astype(np.float64) - 1000.0
    stars = catalogue.cone(*pointing, 1.0)
    x, y = synthesizer.tangent_plane(pointing).sky_to_pixel(stars.ra_deg, stars.dec_deg)
    unsaturated = (stars.mag > 4.0) & (stars.mag < 7.5)
    inside = (x > 10) & (x < 245) & (y > 10) & (y < 245) & unsaturated
    for i in np.flatnonzero(inside):  # keep stars with no neighbour within 6 pixels
        others = np.hypot(x - x[i], y - y[i])
        others[i] = np.inf
        inside[i] = others.min() > 6.0
    assert inside.sum() >= 3
    for sx, sy in zip(x[inside], y[inside], strict=True):
        cx, cy = round(sx), round(sy)
        stamp = image[cx - 3 : cx + 4, cy - 3 : cy + 4]
        weights = np.clip(stamp - np.median(image), 0, None)
        offsets = np.arange(-3, 4)
        centroid_x = cx + (weights.sum(axis=1) * offsets).sum() / weights.sum()
        centroid_y = cy + (weights.sum(axis=0) * offsets).sum() / weights.sum()
        assert np.hypot(centroid_x - sx, centroid_y - sy) < 0.25
