"""Cosmic-ray hits: short straight tracks of charge, more of them in longer exposures."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

# Minimum-ionising particles leave about 80 e- per micrometre of silicon; a 15 um thick
# sensor and random incidence give a few hundred to a few thousand electrons per pixel.
ELECTRONS_PER_PX_RANGE = (300.0, 3000.0)
MAX_TRACK_LENGTH_PX = 12.0


def add_cosmic_rays(
    image_e: NDArray[np.float32],
    count: int,
    generator: np.random.Generator,
    origin_px: tuple[int, int] = (0, 0),
    sensor_shape: tuple[int, int] | None = None,
) -> NDArray[np.float64]:
    """Deposit ``count`` tracks into ``image_e`` (a region of the sensor starting at
    ``origin_px``; hits are spread over ``sensor_shape``, default the region itself).

    Returns the (x, y) start points in sensor pixels, shape (count, 2), for ground truth.
    """
    shape = sensor_shape or image_e.shape
    starts = generator.uniform((0, 0), shape, size=(count, 2))
    lengths = generator.exponential(MAX_TRACK_LENGTH_PX / 3.0, size=count).clip(
        0, MAX_TRACK_LENGTH_PX
    )
    angles = generator.uniform(0, 2 * np.pi, size=count)
    per_px = generator.uniform(*ELECTRONS_PER_PX_RANGE, size=count)
    nx, ny = image_e.shape
    for (x, y), length, angle, charge in zip(starts, lengths, angles, per_px, strict=True):
        steps = max(int(np.ceil(length * 2)), 1)  # half-pixel steps: no gaps in the track
        t = np.linspace(0.0, length, steps)
        xs = np.floor(x + t * np.cos(angle)).astype(np.int64) - origin_px[0]
        ys = np.floor(y + t * np.sin(angle)).astype(np.int64) - origin_px[1]
        pixels = np.unique(np.stack([xs, ys], axis=1), axis=0)
        inside = (
            (pixels[:, 0] >= 0) & (pixels[:, 0] < nx) & (pixels[:, 1] >= 0) & (pixels[:, 1] < ny)
        )
        pixels = pixels[inside]
        image_e[pixels[:, 0], pixels[:, 1]] += np.float32(charge)
    return starts
