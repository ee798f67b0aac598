"""A four-amplifier camera that writes each amplifier as an image extension of its own.

As such cameras write them (e.g. a 4-amp CCD read out into ``im1``..``im4``): a primary
header with the observation's cards and no data, then one extension per amplifier with
EXTNAME, its own BIASSEC/TRIMSEC/DATASEC, CCDSUM, GAIN and RDNOISE, and no DETSEC. Each
amplifier has its own bias level, gain, dark current and response, so a master of one
applied to another leaves a visible error. Values are seeded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from astropy.io import fits

from tests.unit.processor.rawframes import primary, uint16

QUAD_NAMES = ("im1", "im2", "im3", "im4")
QUAD_DATA_SHAPE = (24, 32)
QUAD_TRIMSEC = "[1:32,1:24]"
QUAD_BIASSEC = "[33:40,1:24]"
QUAD_DARK_S = 30.0
QUAD_FLAT_S = 2.0
QUAD_LIGHT_S = 30.0
QUAD_BIAS_ADU = (1000.0, 1200.0, 900.0, 1500.0)
QUAD_GAIN = (1.2, 1.4, 1.6, 1.8)


class _Camera:
    """The fixed pattern of each amplifier: dark current [adu/s] and response."""

    def __init__(self, rng: np.random.Generator) -> None:
        rows, cols = QUAD_DATA_SHAPE
        y, x = np.mgrid[0:rows, 0:cols]
        self.rng = rng
        self.dark_adu_s = [0.5 + 0.3 * k + 0.1 * rng.random(QUAD_DATA_SHAPE) for k in range(4)]
        self.response = [
            (0.85 + 0.1 * k) * (1.0 + 0.03 * rng.standard_normal(QUAD_DATA_SHAPE))
            * (1.0 - 0.1 * ((x - cols / 2) / cols) ** 2)
            for k in range(4)
        ]  # fmt: skip
        self.sky = 300.0 + 3000.0 * np.exp(-((x - 12) ** 2 + (y - 10) ** 2) / 3.0)

    def extension(self, amp: int, signal: np.ndarray) -> fits.ImageHDU:
        rows, cols = QUAD_DATA_SHAPE
        frame = np.full((rows, cols + 8), QUAD_BIAS_ADU[amp] + 0.01 * amp)
        frame[:, :cols] += signal
        frame += self.rng.normal(0, 4.0, frame.shape)
        ext = fits.ImageHDU(uint16(frame))
        for card, value in (("EXTNAME", QUAD_NAMES[amp]), ("CCDSUM", "2 2"),
                            ("BIASSEC", QUAD_BIASSEC), ("TRIMSEC", QUAD_TRIMSEC),
                            ("DATASEC", QUAD_TRIMSEC),
                            ("GAIN", QUAD_GAIN[amp]), ("RDNOISE", 4.0 + amp)):  # fmt: skip
            ext.header[card] = value
        return ext


def quad_night(seed: int = 23, lights: int = 2) -> dict[str, list[Any]]:
    """A whole night of the camera: 5 zeros, 3 darks of 30 s, 5 R flats of 2 s and
    ``lights`` R lights of 30 s."""
    camera = _Camera(np.random.default_rng(seed))

    def file(obstype: str, exptime: float, minute: int, signal: Any) -> list[Any]:
        head = primary(
            None, OBSTYPE=obstype, EXPTIME=exptime, FILTER="R", INSTRUME="QuadCam 4k",
            DATE_OBS=f"2026-12-05T02:{minute:02d}:00", RA=150.0, DEC=20.0, NEXTEND=4,
        )  # fmt: skip
        return [head, *(camera.extension(k, signal(k)) for k in range(4))]

    def poisson(mean: np.ndarray) -> np.ndarray:
        return camera.rng.poisson(np.clip(mean, 0, None)).astype(float)

    night: dict[str, list[Any]] = {}
    for m in range(5):
        night[f"zero/zero_{m}.fits"] = file("zero", 0.0, m, lambda k: np.zeros(QUAD_DATA_SHAPE))
    for m in range(3):
        night[f"dark/dark_{m}.fits"] = file(
            "dark", QUAD_DARK_S, 10 + m, lambda k: poisson(camera.dark_adu_s[k] * QUAD_DARK_S)
        )
    for m in range(5):
        level = 12000.0 + 1000.0 * m
        night[f"flat/flat_R_{m}.fits"] = file(
            "flat", QUAD_FLAT_S, 20 + m,
            lambda k, level=level: poisson(level * camera.response[k]
                                           + camera.dark_adu_s[k] * QUAD_FLAT_S),
        )  # fmt: skip
    for m in range(lights):
        night[f"science/field_{m}.fits"] = file(
            "object", QUAD_LIGHT_S, 40 + m,
            lambda k: poisson(camera.sky * camera.response[k]
                              + camera.dark_adu_s[k] * QUAD_LIGHT_S),
        )  # fmt: skip
    return night
