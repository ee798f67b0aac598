"""The detector's fixed behaviour: bias structure, dark current, hot pixels.

Everything here is a deterministic function of the sensor seed, generated once at full
resolution on first use and kept (4 bytes per pixel per map). Per-exposure noise lives in
``readout``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from observatory.simulator.sky import rng


@dataclass(frozen=True)
class SensorSpec:
    """Configured properties of the detector. Temperatures in Celsius."""

    width_px: int = 2048
    height_px: int = 2048
    pixel_size_um: float = 9.0
    gain_e_per_adu: float = 1.5
    read_noise_e: float = 9.0
    full_well_e: float = 90000.0
    max_adu: int = 65535
    bias_level_adu: float = 1000.0
    bias_column_sigma_adu: float = 2.0
    bias_row_gradient_adu: float = 6.0
    bias_pixel_sigma_adu: float = 0.7
    dark_current_e_per_s: float = 0.05
    dark_reference_temperature_c: float = -10.0
    dark_doubling_k: float = 6.0
    dark_nonuniformity: float = 0.1
    hot_pixel_fraction: float = 2e-4
    hot_pixel_factor_min: float = 100.0
    hot_pixel_factor_max: float = 3000.0
    cosmic_rays_per_cm2_per_min: float = 1.5

    def __post_init__(self) -> None:
        if self.width_px < 16 or self.height_px < 16:
            raise ValueError("the sensor must be at least 16 x 16 pixels")
        if self.gain_e_per_adu <= 0 or self.read_noise_e < 0 or self.full_well_e <= 0:
            raise ValueError("gain and full well must be > 0, read noise >= 0")
        if not 0 < self.max_adu <= 65535:
            raise ValueError("max_adu must be in 1..65535 (16-bit ADC)")

    @property
    def area_cm2(self) -> float:
        return self.width_px * self.height_px * (self.pixel_size_um * 1e-4) ** 2

    def dark_current_at(self, temperature_c: float) -> float:
        """Mean dark current of a normal pixel in e-/s: doubles every ``dark_doubling_k``."""
        doublings = (temperature_c - self.dark_reference_temperature_c) / self.dark_doubling_k
        return self.dark_current_e_per_s * 2.0**doublings


class SensorModel:
    """Fixed-pattern maps of one sensor, indexed ``[x, y]`` at full resolution."""

    def __init__(self, spec: SensorSpec, seed: int) -> None:
        self.spec = spec
        self.seed = seed

    @property
    def shape(self) -> tuple[int, int]:
        return (self.spec.width_px, self.spec.height_px)

    @cached_property
    def bias_adu(self) -> NDArray[np.float32]:
        """Bias in ADU: level, column offsets (readout amplifier settling), a gradient
        along each column (y) and a small per-pixel fixed pattern."""
        s = self.spec
        columns = rng.normal_field(rng.stream_key(self.seed, "bias-columns"), (s.width_px, 1))
        ramp = np.linspace(0.0, s.bias_row_gradient_adu, s.height_px, dtype=np.float32)
        bias = rng.normal_field(rng.stream_key(self.seed, "bias-pixels"), self.shape)
        bias *= np.float32(s.bias_pixel_sigma_adu)
        bias += np.float32(s.bias_level_adu) + columns * np.float32(s.bias_column_sigma_adu)
        bias += ramp[np.newaxis, :]
        return bias

    @cached_property
    def hot_pixels(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """(x, y, dark-current factor) of the hot pixels; factors are log-uniform."""
        s = self.spec
        count = round(s.hot_pixel_fraction * s.width_px * s.height_px)
        generator = np.random.default_rng(rng.stream_key(self.seed, "hot-pixels"))
        flat_index = generator.choice(s.width_px * s.height_px, size=count, replace=False)
        low, high = np.log(s.hot_pixel_factor_min), np.log(s.hot_pixel_factor_max)
        factors = np.exp(generator.uniform(low, high, size=count))
        x, y = np.divmod(flat_index, s.height_px)
        return x.astype(np.int64), y.astype(np.int64), factors

    @cached_property
    def dark_map(self) -> NDArray[np.float32]:
        """Per-pixel dark current relative to a normal pixel (mean about 1; hot pixels
        up to ``hot_pixel_factor_max``)."""
        sigma = self.spec.dark_nonuniformity
        spread = rng.normal_field(rng.stream_key(self.seed, "dark-spread"), self.shape)
        # Log-normal with mean 1, so the configured current is the mean of normal pixels.
        dark = np.exp(spread * np.float32(sigma) - np.float32(sigma * sigma / 2.0))
        x, y, factors = self.hot_pixels
        dark[x, y] = factors.astype(np.float32)
        return dark
