"""Reading the sensor out: shot noise, full well, binning, read noise, bias and the ADC.

One compiled pass over the output pixels. Noise values come from counter-based streams
indexed by the absolute sensor pixel, so a subframe shows exactly the pixels the full
frame would have shown, and the result does not depend on the thread count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray

from observatory.simulator.sky import rng


@dataclass(frozen=True)
class Readout:
    """The part of the sensor read and its binning, in binned pixels (ASCOM StartX,
    StartY, NumX, NumY, BinX, BinY)."""

    start_x: int
    start_y: int
    num_x: int
    num_y: int
    bin_x: int = 1
    bin_y: int = 1

    def region(self) -> tuple[slice, slice]:
        """The unbinned sensor pixels read, as slices of a full-frame ``[x, y]`` array."""
        x0, y0 = self.start_x * self.bin_x, self.start_y * self.bin_y
        return (
            slice(x0, x0 + self.num_x * self.bin_x),
            slice(y0, y0 + self.num_y * self.bin_y),
        )

    def check_fits(self, sensor_shape: tuple[int, int]) -> None:
        """Raise ValueError unless the binned subframe lies on the sensor."""
        if self.bin_x < 1 or self.bin_y < 1:
            raise ValueError("binning must be >= 1")
        if self.start_x < 0 or self.start_y < 0 or self.num_x < 1 or self.num_y < 1:
            raise ValueError("subframe start must be >= 0 and size >= 1")
        width, height = sensor_shape
        if (self.start_x + self.num_x) * self.bin_x > width:
            raise ValueError(f"StartX + NumX exceeds {width // self.bin_x} binned pixels")
        if (self.start_y + self.num_y) * self.bin_y > height:
            raise ValueError(f"StartY + NumY exceeds {height // self.bin_y} binned pixels")


@numba.njit(cache=True)
def _digitise(
    bias_adu: float, charge_e: float, adu_per_e: float, max_adu: int
) -> np.uint16:  # pragma: no cover
    adu = np.rint(bias_adu + charge_e * adu_per_e)
    return np.uint16(min(max(adu, 0.0), float(max_adu)))


@numba.njit(parallel=True, nogil=True, cache=True)
def _read_out_unbinned(
    mean_e: NDArray[np.float32],
    bias_adu: NDArray[np.float32],
    key_shot: np.uint64,
    key_read: np.uint64,
    origin_x: int,
    origin_y: int,
    sensor_height: int,
    full_well_e: float,
    read_noise_e: float,
    adu_per_e: float,
    max_adu: int,
    out: NDArray[np.uint16],
) -> None:  # pragma: no cover - compiled
    num_x, num_y = out.shape
    for x in numba.prange(num_x):
        row = np.uint64((origin_x + x) * sensor_height + origin_y)
        for y in range(num_y):
            index = row + np.uint64(y)
            charge = min(rng.poisson(key_shot, index, mean_e[x, y]), full_well_e)
            charge += read_noise_e * rng.normal(key_read, index)
            out[x, y] = _digitise(bias_adu[x, y], charge, adu_per_e, max_adu)


@numba.njit(parallel=True, nogil=True, cache=True)
def _read_out_binned(
    mean_e: NDArray[np.float32],
    bias_adu: NDArray[np.float32],
    key_shot: np.uint64,
    key_read: np.uint64,
    origin_x: int,
    origin_y: int,
    sensor_height: int,
    bin_x: int,
    bin_y: int,
    full_well_e: float,
    read_noise_e: float,
    adu_per_e: float,
    max_adu: int,
    out: NDArray[np.uint16],
) -> None:  # pragma: no cover - compiled
    num_x, num_y = out.shape
    for i in numba.prange(num_x):
        for j in range(num_y):
            charge = 0.0
            for a in range(bin_x):
                x = i * bin_x + a
                row = np.uint64((origin_x + x) * sensor_height + origin_y)
                for b in range(bin_y):
                    y = j * bin_y + b
                    pixel = rng.poisson(key_shot, row + np.uint64(y), mean_e[x, y])
                    charge += min(pixel, full_well_e)
            first = np.uint64((origin_x + i * bin_x) * sensor_height + origin_y + j * bin_y)
            charge += read_noise_e * rng.normal(key_read, first)
            out[i, j] = _digitise(bias_adu[i * bin_x, j * bin_y], charge, adu_per_e, max_adu)


def read_out(
    mean_e: NDArray[np.float32],
    bias_adu: NDArray[np.float32],
    readout: Readout,
    exposure_key: int,
    sensor_height_px: int,
    full_well_e: float,
    read_noise_e: float,
    gain_e_per_adu: float,
    max_adu: int,
) -> NDArray[np.uint16]:
    """Digitise the expected charge ``mean_e`` of the read region (unbinned, ``[x, y]``)
    into a ``(num_x, num_y)`` uint16 image. ``bias_adu`` is the bias of the same region.

    Shot noise is Poisson (exact below 30 e-, normal above); each unbinned pixel clips at
    ``full_well_e`` before binning sums the charge; read noise is added once per output
    pixel; the result is rounded and clipped to [0, ``max_adu``].
    """
    out = np.empty((readout.num_x, readout.num_y), dtype=np.uint16)
    key_shot = np.uint64(rng.stream_key(exposure_key, "shot"))
    key_read = np.uint64(rng.stream_key(exposure_key, "read"))
    x0, y0 = readout.start_x * readout.bin_x, readout.start_y * readout.bin_y
    adu_per_e = 1.0 / gain_e_per_adu
    with rng.PARALLEL_KERNELS:
        if readout.bin_x == readout.bin_y == 1:
            _read_out_unbinned(mean_e, bias_adu, key_shot, key_read, x0, y0, sensor_height_px,
                               full_well_e, read_noise_e, adu_per_e, max_adu, out)  # fmt: skip
        else:
            _read_out_binned(mean_e, bias_adu, key_shot, key_read, x0, y0, sensor_height_px,
                             readout.bin_x, readout.bin_y,
                             full_well_e, read_noise_e, adu_per_e, max_adu, out)  # fmt: skip
    return out
