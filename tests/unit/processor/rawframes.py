"""Raw frames as real cameras and capture programs write them, built in the tests.

Each builder returns the HDUs of one file; ``write`` stores them. Values are seeded, so
a failing test fails the same way every time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

BIAS_LEVEL_ADU = 1000.0
READ_NOISE_ADU = 5.0


def write(path: Path, hdus: fits.HDUList | list[Any]) -> Path:
    """Write ``hdus`` (an HDUList or a list of HDUs) to ``path``, fpack or gzip by suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList(list(hdus)).writeto(path, overwrite=True)
    return path


def primary(data: np.ndarray | None, **cards: Any) -> fits.PrimaryHDU:
    hdu = fits.PrimaryHDU(data)
    for key, value in cards.items():
        hdu.header[key.replace("_", "-")] = value
    return hdu


def uint16(values: np.ndarray) -> np.ndarray:
    return np.clip(np.round(values), 0, 65535).astype(np.uint16)


def overscan_frame(
    rng: np.random.Generator,
    signal: np.ndarray,
    overscan_cols: int = 20,
    bias_slope: float = 0.002,
) -> np.ndarray:
    """A readout with ``overscan_cols`` overscan columns right of the data: bias level
    drifting along the rows (what per-row overscan removes), read noise everywhere."""
    rows, cols = signal.shape
    level = BIAS_LEVEL_ADU + bias_slope * np.arange(rows)[:, None]
    frame = np.empty((rows, cols + overscan_cols))
    frame[:, :cols] = signal + level
    frame[:, cols:] = level
    frame += rng.normal(0, READ_NOISE_ADU, frame.shape)
    return uint16(frame)
