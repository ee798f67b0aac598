"""The ``[sky]`` section of the simulator config: what the camera sees besides itself.

``[sky.filters.<name>]`` tables override or add filter models (fields of
:class:`~observatory.simulator.sky.photometry.FilterModel`); filters the wheel names but
the table lacks use ``[sky.filters.default]``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The Debian package astrometry-data-tycho2 puts its index files here.
DEFAULT_INDEX_GLOB = "/usr/share/astrometry/index-tycho2-1*.fits"


class FilterSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zero_point_mag: float | None = None
    sky_mag_per_arcsec2: float | None = None
    panel_response: float | None = Field(default=None, ge=0)
    vignetting_at_corner: float | None = Field(default=None, gt=0, le=1)
    vignetting_center_offset_px: tuple[float, float] | None = None
    prnu: float | None = Field(default=None, ge=0, le=0.2)
    dust_count: int | None = Field(default=None, ge=0, le=100)

    def overrides(self) -> dict[str, object]:
        return self.model_dump(exclude_none=True)


class SkySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Star catalogue: astrometry.net index files with a magnitude tag-along column.
    catalogue_index_glob: str = DEFAULT_INDEX_GLOB
    # Seeing and optics together, on the sky.
    psf_fwhm_arcsec: float = Field(default=5.0, gt=0)
    psf_model: Literal["gaussian", "moffat"] = "gaussian"
    moffat_beta: float = Field(default=3.0, gt=1)
    # Share of the night sky's light that still reaches the sensor through a closed dome.
    closed_dome_light_fraction: float = Field(default=1e-3, ge=0, le=1)
    # Flat panel at full brightness: electrons per second per unbinned pixel, no filter.
    flat_panel_e_per_s: float = Field(default=20000.0, ge=0)
    # Pixel-response non-uniformity common to all filters (1 sigma), dust on the window.
    sensor_prnu: float = Field(default=0.008, ge=0, le=0.2)
    sensor_dust_count: int = Field(default=6, ge=0, le=100)
    filters: dict[str, FilterSettings] = Field(default_factory=dict)
