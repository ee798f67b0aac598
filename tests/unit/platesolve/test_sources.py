"""sep finds the stars of a frame, brightest first, past bad pixels."""

from __future__ import annotations

import numpy as np
import pytest

from observatory.platesolve.sources import extract_sources


def frame_with_stars(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:256, 0:256]
    image = rng.normal(100.0, 5.0, (256, 256))
    stars = np.array([[40.3, 60.7, 5000.0], [200.0, 180.2, 20000.0], [128.6, 30.1, 10000.0]])
    sigma_px = 1.5
    for sx, sy, flux in stars:
        image += (
            flux
            / (2 * np.pi * sigma_px**2)
            * np.exp(-((x - sx) ** 2 + (y - sy) ** 2) / (2 * sigma_px**2))
        )
    return image.astype(">f4"), stars  # big-endian, as FITS data are


def test_positions_are_numpy_columns_and_rows_brightest_first() -> None:
    image, stars = frame_with_stars(np.random.default_rng(1))
    image[10, 10] = np.nan
    sources = extract_sources(image)
    assert len(sources) == 3
    brightest_first = stars[np.argsort(stars[:, 2])[::-1]]
    assert sources.x_px == pytest.approx(brightest_first[:, 0], abs=0.1)
    assert sources.y_px == pytest.approx(brightest_first[:, 1], abs=0.1)
    assert sources.background_adu == pytest.approx(100.0, abs=1.0)
    assert sources.background_rms_adu == pytest.approx(5.0, rel=0.1)
    assert np.isnan(image[10, 10])  # the caller's array is left as it was


def test_a_cube_is_refused() -> None:
    with pytest.raises(ValueError, match="2-D"):
        extract_sources(np.zeros((2, 16, 16), dtype=np.float32))
