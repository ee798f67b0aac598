"""The flat-field response of the optics and sensor, per filter.

response = vignetting(filter) x sensor-window dust x filter dust x
           (1 + sensor PRNU + filter PRNU)

normalised to 1 on the optical axis. Sensor PRNU (``sensor_prnu``) and the dust on the
sensor window are common to all filters; the vignetting centre and depth, the filter's
own dust donuts and its share of pixel response follow the filter (seeded by its name).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray

from observatory.simulator.sky import rng
from observatory.simulator.sky.photometry import FilterModel


@dataclass(frozen=True)
class Donut:
    """A dust shadow: an annulus of fractional depth ``depth`` (the central hole is the
    shadow of the telescope's secondary obstruction)."""

    x_px: float
    y_px: float
    outer_radius_px: float
    inner_radius_px: float
    depth: float


@numba.njit(parallel=True, nogil=True, cache=True)
def _vignetted_prnu(
    key_common: np.uint64,
    key_filter: np.uint64,
    prnu_common: float,
    prnu_filter: float,
    center_x: float,
    center_y: float,
    radius_corner_px: float,
    falloff: float,
    out: NDArray[np.float32],
) -> None:  # pragma: no cover - compiled
    nx, ny = out.shape
    for x in numba.prange(nx):
        for y in range(ny):
            index = np.uint64(x * ny + y)
            rho2 = ((x - center_x) ** 2 + (y - center_y) ** 2) / radius_corner_px**2
            vignetting = 1.0 / (1.0 + falloff * rho2) ** 2
            pixel = 1.0 + prnu_common * rng.normal(key_common, index)
            pixel += prnu_filter * rng.normal(key_filter, index)
            out[x, y] = vignetting * pixel


def dust_donuts(seed: int, label: str, count: int, shape: tuple[int, int],
                radius_range_px: tuple[float, float],
                depth_range: tuple[float, float]) -> list[Donut]:  # fmt: skip
    """``count`` donuts at seeded random places and sizes on a sensor of ``shape``."""
    generator = np.random.default_rng(rng.stream_key(seed, "dust", label))
    donuts = []
    for _ in range(count):
        outer = float(generator.uniform(*radius_range_px))
        donuts.append(
            Donut(
                x_px=float(generator.uniform(0, shape[0])),
                y_px=float(generator.uniform(0, shape[1])),
                outer_radius_px=outer,
                inner_radius_px=outer * float(generator.uniform(0.3, 0.45)),
                depth=float(generator.uniform(*depth_range)),
            )
        )
    return donuts


def apply_donut(response: NDArray[np.float32], donut: Donut) -> None:
    """Darken ``response`` in place under ``donut`` (soft-edged, within its box only)."""
    nx, ny = response.shape
    r_out = donut.outer_radius_px
    x0, x1 = max(0, int(donut.x_px - r_out - 2)), min(nx, int(donut.x_px + r_out + 3))
    y0, y1 = max(0, int(donut.y_px - r_out - 2)), min(ny, int(donut.y_px + r_out + 3))
    if x0 >= x1 or y0 >= y1:
        return
    xs = np.arange(x0, x1, dtype=np.float64)[:, None] - donut.x_px
    ys = np.arange(y0, y1, dtype=np.float64)[None, :] - donut.y_px
    r = np.hypot(xs, ys)
    # A 1.5-pixel soft edge on both rims, like a defocused shadow.
    inside_outer = np.clip((r_out - r) / 1.5 + 0.5, 0.0, 1.0)
    outside_inner = np.clip((r - donut.inner_radius_px) / 1.5 + 0.5, 0.0, 1.0)
    shadow = donut.depth * inside_outer * outside_inner
    response[x0:x1, y0:y1] *= (1.0 - shadow).astype(np.float32)


@dataclass(frozen=True)
class FlatModel:
    """Sensor-wide flat-field parameters (the filter-specific ones are in FilterModel)."""

    sensor_prnu: float = 0.008
    sensor_dust_count: int = 6

    def sensor_donuts(self, seed: int, shape: tuple[int, int]) -> list[Donut]:
        return dust_donuts(seed, "sensor-window", self.sensor_dust_count, shape,
                           (6.0, 18.0), (0.02, 0.08))  # fmt: skip

    def filter_donuts(self, seed: int, filter_name: str, model: FilterModel,
                      shape: tuple[int, int]) -> list[Donut]:  # fmt: skip
        return dust_donuts(seed, f"filter:{filter_name}", model.dust_count, shape,
                           (25.0, 70.0), (0.01, 0.04))  # fmt: skip

    def response(self, seed: int, filter_name: str, model: FilterModel,
                 shape: tuple[int, int]) -> NDArray[np.float32]:  # fmt: skip
        """Full-resolution flat response ``[x, y]`` of ``filter_name``."""
        out = np.empty(shape, dtype=np.float32)
        center_x = (shape[0] - 1) / 2.0 + model.vignetting_center_offset_px[0]
        center_y = (shape[1] - 1) / 2.0 + model.vignetting_center_offset_px[1]
        radius_corner = float(np.hypot(shape[0] / 2.0, shape[1] / 2.0))
        if not 0 < model.vignetting_at_corner <= 1:
            raise ValueError("vignetting_at_corner must be in (0, 1]")
        falloff = model.vignetting_at_corner**-0.5 - 1.0
        with rng.PARALLEL_KERNELS:
            _vignetted_prnu(
                np.uint64(rng.stream_key(seed, "prnu")),
                np.uint64(rng.stream_key(seed, "prnu", filter_name)),
                self.sensor_prnu, model.prnu, center_x, center_y, radius_corner, falloff, out,
            )  # fmt: skip
        for donut in self.sensor_donuts(seed, shape):
            apply_donut(out, donut)
        for donut in self.filter_donuts(seed, filter_name, model, shape):
            apply_donut(out, donut)
        return out
