"""How much light each filter lets through: stars, night sky and the flat panel.

A filter's ``zero_point_mag`` is the magnitude of a star that yields 1 e-/s in total on
the detector through that filter (telescope, filter and quantum efficiency together: the
built-in values suit a 106 mm refractor and a CCD of 60 % peak efficiency); the
catalogue's VT magnitude stands for the star's brightness in every band (no colours).
Filters not in the table use the ``default`` entry, with their flat-field structure
still derived from their own name (so flats still differ per filter).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_FILTER = "default"


@dataclass(frozen=True)
class FilterModel:
    """Throughput and flat-field parameters of one filter."""

    zero_point_mag: float = 18.6
    sky_mag_per_arcsec2: float = 21.0
    # Flat-panel signal relative to the panel's configured full rate.
    panel_response: float = 1.0
    # Flat response at the sensor corner relative to the centre (cos^4-like falloff).
    vignetting_at_corner: float = 0.75
    # Optical axis offset of the vignetting from the sensor centre, pixels (x, y).
    vignetting_center_offset_px: tuple[float, float] = (0.0, 0.0)
    # Pixel-response non-uniformity (1-sigma fraction) specific to this band.
    prnu: float = 0.006
    # Dust donuts on this filter (out of focus: large and faint).
    dust_count: int = 4

    def sky_rate_e_per_s(self, pixel_scale_arcsec: float) -> float:
        """Night-sky electrons per second in one unbinned pixel."""
        per_arcsec2 = 10.0 ** (-0.4 * (self.sky_mag_per_arcsec2 - self.zero_point_mag))
        return float(per_arcsec2 * pixel_scale_arcsec**2)


def _builtin_filters() -> dict[str, FilterModel]:
    return {
        DEFAULT_FILTER: FilterModel(),
        "L": FilterModel(19.5, 21.3, 1.0, 0.74, (6.0, -4.0), 0.005, 4),
        "Clear": FilterModel(19.6, 21.3, 1.05, 0.74, (4.0, -2.0), 0.005, 3),
        "B": FilterModel(18.2, 22.0, 0.45, 0.72, (-8.0, 3.0), 0.009, 5),
        "V": FilterModel(18.7, 21.1, 0.8, 0.75, (2.0, 7.0), 0.006, 4),
        "G": FilterModel(18.6, 21.4, 0.75, 0.75, (-3.0, 5.0), 0.006, 3),
        "R": FilterModel(18.7, 20.6, 0.9, 0.77, (5.0, 1.0), 0.005, 4),
        "I": FilterModel(18.2, 19.6, 0.7, 0.79, (-5.0, -6.0), 0.004, 3),
        "Ha": FilterModel(15.2, 19.8, 0.06, 0.80, (9.0, 8.0), 0.004, 2),
        "OIII": FilterModel(15.0, 20.5, 0.05, 0.78, (-7.0, -9.0), 0.007, 2),
        "SII": FilterModel(14.9, 19.8, 0.05, 0.80, (8.0, -8.0), 0.004, 2),
    }


@dataclass(frozen=True)
class FilterTable:
    """Filter models by name; unknown names use the ``default`` entry."""

    models: Mapping[str, FilterModel] = field(default_factory=_builtin_filters)

    def __post_init__(self) -> None:
        if DEFAULT_FILTER not in self.models:
            raise ValueError(f"the filter table needs a {DEFAULT_FILTER!r} entry")

    def model(self, filter_name: str | None) -> FilterModel:
        """The model of ``filter_name`` (None: no filter wheel, the default entry)."""
        return self.models.get(filter_name or DEFAULT_FILTER, self.models[DEFAULT_FILTER])

    def with_overrides(self, overrides: Mapping[str, Mapping[str, object]]) -> FilterTable:
        """A table with entries added or fields replaced, e.g. from a TOML section."""
        models = dict(self.models)
        for name, fields in overrides.items():
            base = models.get(name, models[DEFAULT_FILTER])
            values = {**base.__dict__, **fields}
            if "vignetting_center_offset_px" in fields:
                offset = fields["vignetting_center_offset_px"]
                values["vignetting_center_offset_px"] = tuple(offset)  # type: ignore[arg-type]
            models[name] = FilterModel(**values)
        return FilterTable(models)
