"""Half-flux diameters and the V-curve fit, on generated stars and curves."""

from __future__ import annotations

import numpy as np
import pytest

from observatory.errors import AutofocusFailed
from observatory.telescope.focus_curve import fit_v_curve, hyperbola, measure_hfd, sweep_positions


def star_field(fwhm_px: float, stars: int = 40, seed: int = 3) -> np.ndarray:
    """A 512 x 512 frame of Gaussian stars of ``fwhm_px`` on a noisy sky, in ADU."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:512, 0:512].astype(np.float64)
    image = np.full((512, 512), 1000.0)
    sigma = fwhm_px / 2.3548
    for _ in range(stars):
        cx, cy = rng.uniform(40, 472, size=2)
        flux = rng.uniform(2e4, 1e5)
        image += (
            flux
            / (2 * np.pi * sigma**2)
            * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2))
        )
    image += rng.normal(0.0, 10.0, image.shape)
    return image.astype(np.uint16)


@pytest.mark.parametrize(("fwhm_px", "rel"), [(2.0, 0.25), (4.0, 0.08), (9.0, 0.08)])
def test_hfd_of_gaussian_stars_is_their_fwhm(fwhm_px: float, rel: float) -> None:
    # For a Gaussian, the diameter holding half the flux equals the FWHM (the hot-pixel
    # median widens the smallest stars a little).
    sizes = measure_hfd(star_field(fwhm_px))
    assert sizes.stars >= 20
    assert sizes.hfd_px == pytest.approx(fwhm_px, rel=rel)


def test_hot_pixels_and_cosmic_rays_do_not_pin_the_hfd() -> None:
    image = star_field(6.0)
    rng = np.random.default_rng(5)
    rows, columns = rng.integers(0, 512, size=(2, 600))
    image[rows, columns] = rng.integers(3000, 40000, size=600).astype(np.uint16)
    assert measure_hfd(image).hfd_px == pytest.approx(6.0, rel=0.08)


def test_a_frame_without_stars_has_no_hfd() -> None:
    rng = np.random.default_rng(1)
    sizes = measure_hfd(rng.normal(1000.0, 10.0, (256, 256)).astype(np.uint16))
    assert sizes.hfd_px is None and sizes.stars == 0


def test_saturated_stars_are_left_out() -> None:
    image = star_field(3.0).astype(np.float64)
    image[100:106, 100:106] = 65535.0  # a saturated blob
    sizes = measure_hfd(image.astype(np.uint16), saturation_adu=60000.0)
    assert sizes.hfd_px == pytest.approx(3.0, rel=0.08)


def test_the_fit_finds_the_minimum_of_a_noisy_v_curve() -> None:
    rng = np.random.default_rng(7)
    positions = sweep_positions(30000, 40, 9, 60000)
    truth = hyperbola(np.array(positions, dtype=float), 2.0, 25.0, 30017.0)
    measured = list(truth * (1 + rng.normal(0, 0.02, truth.shape)))
    fit = fit_v_curve(positions, measured)
    assert fit.best_position == pytest.approx(30017.0, abs=6.0)
    assert fit.a_px == pytest.approx(2.0, rel=0.1)


def test_frames_without_stars_are_skipped_in_the_fit() -> None:
    positions = sweep_positions(1000, 20, 9, 5000)
    hfds: list[float | None] = list(hyperbola(np.array(positions, dtype=float), 2.0, 10.0, 1010.0))
    hfds[0] = None
    assert fit_v_curve(positions, hfds).best_position == pytest.approx(1010.0, abs=1.0)


def test_best_focus_outside_the_sweep_is_refused() -> None:
    positions = sweep_positions(1000, 20, 9, 5000)
    hfds = list(hyperbola(np.array(positions, dtype=float), 2.0, 10.0, 1300.0))
    with pytest.raises(AutofocusFailed, match="end of the sweep"):
        fit_v_curve(positions, hfds)


def test_a_flat_curve_is_refused() -> None:
    positions = sweep_positions(1000, 1, 9, 5000)
    hfds = list(hyperbola(np.array(positions, dtype=float), 2.0, 100.0, 1000.0))
    with pytest.raises(AutofocusFailed, match="too flat"):
        fit_v_curve(positions, hfds)


def test_best_focus_near_an_end_of_the_sweep_is_refused_saying_which() -> None:
    positions = sweep_positions(30100, 40, 9, 60000)
    hfds = list(hyperbola(np.array(positions, dtype=float), 2.0, 25.0, 30235.0))
    with pytest.raises(AutofocusFailed, match=r"barely rises above .* recentre it further above"):
        fit_v_curve(positions, hfds)


def test_points_that_are_not_a_v_curve_are_refused() -> None:
    positions = sweep_positions(30786, 40, 9, 60000)
    hfds: list[float | None] = [15.8, 16.1, 16.2, 15.2, 18.7, 18.5, 3.7, 3.5, 25.3]
    with pytest.raises(AutofocusFailed, match="do not follow a V-curve"):
        fit_v_curve(positions, hfds)


def test_too_few_measured_frames_are_refused() -> None:
    with pytest.raises(AutofocusFailed, match="only 3 of 5"):
        fit_v_curve([1, 2, 3, 4, 5], [3.0, None, 2.0, None, 3.0])


def test_sweep_stays_within_the_focuser_range() -> None:
    assert sweep_positions(100, 50, 5, 10000) == [0, 50, 100, 150, 200]
    assert sweep_positions(9990, 50, 5, 10000) == [9800, 9850, 9900, 9950, 10000]
    with pytest.raises(ValueError, match="exceeds"):
        sweep_positions(50, 50, 5, 100)
