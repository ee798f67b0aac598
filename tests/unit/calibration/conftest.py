"""Seeded synthetic frames for the calibration tests, written as real FITS files."""

import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits


def write_frames(
    folder: Path, arrays: Iterable[np.ndarray], prefix: str = "frame", **cards: object
) -> list[Path]:
    """Write each array as ``<prefix>NNN.fits`` with ``cards`` in the header.

    uint16 arrays get astropy's BZERO=32768 convention, as camera files do."""
    paths = []
    for index, array in enumerate(arrays):
        header = fits.Header()
        for keyword, value in cards.items():
            header[keyword] = value
        path = folder / f"{prefix}{index:03d}.fits"
        fits.PrimaryHDU(array, header=header).writeto(path)
        paths.append(path)
    return paths


def camera_frames(
    rng: np.random.Generator, count: int, shape: tuple[int, int], level: float, noise: float
) -> list[np.ndarray]:
    """uint16 frames: level + Gaussian noise, with a few hot pixels (cosmic-ray like)."""
    frames = []
    for _ in range(count):
        frame = rng.normal(level, noise, shape)
        hits = rng.integers(0, shape[0], 3), rng.integers(0, shape[1], 3)
        frame[hits] = 60000
        frames.append(np.clip(np.rint(frame), 0, 65535).astype(np.uint16))
    return frames


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


def ccdproc_combine(paths: list[Path], **options: object) -> np.ndarray:
    """ccdproc.combine on the same files (float64 result), warnings silenced."""
    import ccdproc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(ccdproc.combine([str(p) for p in paths], unit="adu", **options).data)
