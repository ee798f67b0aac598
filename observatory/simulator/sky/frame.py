"""One exposure, from the scene in front of the camera to 16-bit pixels.

expected charge = dark current x dark map x t
                + flat(filter) x (sky + panel) x t         (light reaching the sensor)
                + stars (PSF stamps, flat-weighted) x t
                + cosmic rays
then :func:`readout.read_out` adds shot and read noise, bins, adds the bias and digitises.

Everything is a pure function of the seed, the scene and the exposure number: the same
inputs give the same image, and each exposure number its own noise.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

from observatory.simulator.sky import rng
from observatory.simulator.sky.catalogue import StarCatalogue
from observatory.simulator.sky.cosmics import add_cosmic_rays
from observatory.simulator.sky.flat import FlatModel
from observatory.simulator.sky.photometry import FilterTable
from observatory.simulator.sky.projection import TangentPlane, angular_separation_deg
from observatory.simulator.sky.readout import Readout, read_out
from observatory.simulator.sky.sensor import SensorModel
from observatory.simulator.sky.stars import MAX_STAMP_RADIUS_PX, Psf, add_stars

FLAT_CACHE_SIZE = 3


@dataclass(frozen=True)
class Optics:
    """What the telescope makes of the sky on the sensor."""

    pixel_scale_arcsec: float
    psf: Psf
    rotation_deg: float = 0.0


@dataclass(frozen=True)
class Scene:
    """What reaches the sensor during one exposure (sampled at its start).

    ``light`` is the camera's own shutter (False: a dark or bias). ``sky_visible`` is
    False when the dome shutter or the telescope cover is closed, or the filter wheel is
    between slots; ``sky_leak`` is the fraction of sky light that still gets in then.
    ``flat_panel_e_per_s`` is the lit panel's rate per unbinned pixel before the filter.
    ``pointing_deg`` is the true (ra, dec) of the optical axis, None without a mount.
    ``pointing_path_deg`` holds the true pointing at evenly spaced instants across the
    exposure when the telescope moves during it (tracking off, slewing): stars then
    trail. Empty when it holds still on ``pointing_deg``.
    """

    exposure_s: float
    light: bool
    exposure_number: int
    sensor_temperature_c: float
    filter_name: str | None = None
    sky_visible: bool = False
    sky_leak: float = 0.0
    flat_panel_e_per_s: float = 0.0
    pointing_deg: tuple[float, float] | None = None
    pointing_path_deg: tuple[tuple[float, float], ...] = ()
    # FWHM (unbinned pixels) of the defocus blur, added in quadrature to the PSF.
    defocus_fwhm_px: float = 0.0


@numba.njit(parallel=True, nogil=True, cache=True)
def _expected_charge(
    dark_map: NDArray[np.float32],
    flat: NDArray[np.float32],
    dark_e: float,
    light_e: float,
    out: NDArray[np.float32],
) -> None:  # pragma: no cover - compiled
    nx, ny = out.shape
    for x in numba.prange(nx):
        for y in range(ny):
            out[x, y] = dark_map[x, y] * dark_e + flat[x, y] * light_e


class FrameSynthesizer:
    """Renders exposures of one camera on one telescope."""

    def __init__(
        self,
        sensor: SensorModel,
        optics: Optics,
        filters: FilterTable,
        flat_model: FlatModel,
        catalogue: StarCatalogue | None,
    ) -> None:
        self.sensor = sensor
        self.optics = optics
        self.filters = filters
        self.flat_model = flat_model
        self.catalogue = catalogue
        self._flats: OrderedDict[str, NDArray[np.float32]] = OrderedDict()
        # The render thread and the truth Action both read flats.
        self._flats_lock = threading.Lock()

    @property
    def seed(self) -> int:
        return self.sensor.seed

    def flat_response(self, filter_name: str | None) -> NDArray[np.float32]:
        """Full-resolution flat response of a filter (cached for the last few)."""
        name = filter_name or "default"
        with self._flats_lock:
            if name in self._flats:
                self._flats.move_to_end(name)
                return self._flats[name]
            model = self.filters.model(name)
            response = self.flat_model.response(self.seed, name, model, self.sensor.shape)
            self._flats[name] = response
            while len(self._flats) > FLAT_CACHE_SIZE:
                self._flats.popitem(last=False)
            return response

    def tangent_plane(self, pointing_deg: tuple[float, float]) -> TangentPlane:
        width, height = self.sensor.shape
        return TangentPlane(
            pointing_deg[0], pointing_deg[1], self.optics.pixel_scale_arcsec,
            self.optics.rotation_deg, ((width - 1) / 2.0, (height - 1) / 2.0),
        )  # fmt: skip

    def field_radius_deg(self) -> float:
        """Radius of the circle that holds the whole sensor, plus a margin for halos."""
        width, height = self.sensor.shape
        half_diagonal_px = np.hypot(width, height) / 2.0 + 100.0
        return float(half_diagonal_px * self.optics.pixel_scale_arcsec / 3600.0)

    def warm_up(self) -> None:
        """Compile the kernels (full frame, subframe, binned) and build the fixed
        patterns, so that the first exposure is as fast as the others."""
        width, height = self.sensor.shape
        dark = Scene(exposure_s=0.0, light=False, exposure_number=-1, sensor_temperature_c=0.0)
        for readout in (
            Readout(0, 0, width, height),
            Readout(1, 1, 8, 8),
            Readout(1, 1, 4, 4, 2, 2),
        ):
            self.render(dark, readout)

    def render(self, scene: Scene, readout: Readout) -> NDArray[np.uint16]:
        """The digitised image ``[x, y]`` of shape (num_x, num_y).

        Raises ValueError for a subframe off the sensor or a negative exposure, and
        CatalogueUnavailable when stars are needed and the catalogue fails.
        """
        spec = self.sensor.spec
        readout.check_fits(self.sensor.shape)
        if scene.exposure_s < 0:
            raise ValueError("exposure time must be >= 0")
        region = readout.region()
        exposure_key = rng.stream_key(self.seed, "exposure", scene.exposure_number)
        charge = self._expected_charge(scene, region)
        if scene.light and scene.sky_visible and scene.pointing_deg is not None:
            self._add_stars(charge, scene, region)
        generator = np.random.default_rng(rng.stream_key(exposure_key, "cosmic-rays"))
        per_s = spec.cosmic_rays_per_cm2_per_min * spec.area_cm2 / 60.0
        count = int(generator.poisson(per_s * scene.exposure_s))
        origin = (region[0].start, region[1].start)
        add_cosmic_rays(charge, count, generator, origin, self.sensor.shape)
        return read_out(
            charge, self.sensor.bias_adu[region], readout, exposure_key, spec.height_px,
            spec.full_well_e, spec.read_noise_e, spec.gain_e_per_adu, spec.max_adu,
        )  # fmt: skip

    def sky_rate_e_per_s(self, scene: Scene) -> float:
        """Night-sky light per unbinned pixel before the flat, e-/s (leak when hidden)."""
        if not scene.light:
            return 0.0
        model = self.filters.model(scene.filter_name)
        sky = model.sky_rate_e_per_s(self.optics.pixel_scale_arcsec)
        return sky * (1.0 if scene.sky_visible else scene.sky_leak)

    def panel_rate_e_per_s(self, scene: Scene) -> float:
        """Flat-panel light per unbinned pixel through the filter, before the flat, e-/s."""
        if not scene.light:
            return 0.0
        return scene.flat_panel_e_per_s * self.filters.model(scene.filter_name).panel_response

    def _expected_charge(self, scene: Scene, region: tuple[slice, slice]) -> NDArray[np.float32]:
        shape = (region[0].stop - region[0].start, region[1].stop - region[1].start)
        out = np.empty(shape, dtype=np.float32)
        dark_e = self.sensor.spec.dark_current_at(scene.sensor_temperature_c) * scene.exposure_s
        light_e = (self.sky_rate_e_per_s(scene) + self.panel_rate_e_per_s(scene)) * scene.exposure_s
        flat = self.flat_response(scene.filter_name)
        dark_map = self.sensor.dark_map[region]
        with rng.PARALLEL_KERNELS:
            _expected_charge(dark_map, flat[region], dark_e, light_e, out)
        return out

    def _add_stars(
        self, charge: NDArray[np.float32], scene: Scene, region: tuple[slice, slice]
    ) -> None:
        assert scene.pointing_deg is not None
        if self.catalogue is None:
            return
        ra, dec = scene.pointing_deg
        path = scene.pointing_path_deg or (scene.pointing_deg,)
        extent_deg = max(angular_separation_deg(ra, dec, *p) for p in path)
        stars = self.catalogue.cone(ra, dec, self.field_radius_deg() + extent_deg)
        model = self.filters.model(scene.filter_name)
        electrons = 10.0 ** (-0.4 * (stars.mag - model.zero_point_mag)) * scene.exposure_s
        electrons /= len(path)
        flat = self.flat_response(scene.filter_name)[region]
        psf = self.psf_of(scene)
        margin = MAX_STAMP_RADIUS_PX
        for pointing in path:
            x, y = self.tangent_plane(pointing).sky_to_pixel(stars.ra_deg, stars.dec_deg)
            x, y = x - region[0].start, y - region[1].start
            near = (x > -margin) & (x < charge.shape[0] + margin)
            near &= (y > -margin) & (y < charge.shape[1] + margin)
            add_stars(charge, flat, x[near], y[near], electrons[near], psf)

    def psf_of(self, scene: Scene) -> Psf:
        """The optics' PSF widened by the scene's defocus (quadrature sum of FWHMs)."""
        psf = self.optics.psf
        if scene.defocus_fwhm_px <= 0:
            return psf
        fwhm_px = float(np.hypot(psf.fwhm_px, scene.defocus_fwhm_px))
        return replace(psf, fwhm_px=fwhm_px)

    def truth(
        self, scene: Scene | None, filter_name: str | None, flat_block_px: int
    ) -> dict[str, Any]:
        """Ground truth for tests: sensor constants, the flat response of ``filter_name``
        averaged over ``flat_block_px`` blocks, and the scene of the last exposure."""
        spec = self.sensor.spec
        flat = self.flat_response(filter_name)
        nx, ny = (s // flat_block_px for s in flat.shape)
        blocks = (
            flat[: nx * flat_block_px, : ny * flat_block_px]
            .reshape(nx, flat_block_px, ny, flat_block_px)
            .mean(axis=(1, 3))
        )
        model = self.filters.model(filter_name)
        result: dict[str, Any] = {
            "seed": self.seed,
            "read_noise_e": spec.read_noise_e,
            "gain_e_per_adu": spec.gain_e_per_adu,
            "bias_level_adu": spec.bias_level_adu,
            "full_well_e": spec.full_well_e,
            "pixel_scale_arcsec": self.optics.pixel_scale_arcsec,
            "rotation_deg": self.optics.rotation_deg,
            "psf_fwhm_px": self.optics.psf.fwhm_px,
            "flat_filter": filter_name,
            "flat_block_px": flat_block_px,
            "flat_response_blocks": np.round(blocks, 5).tolist(),
            "filter_model": {**model.__dict__},
            "hot_pixel_count": len(self.sensor.hot_pixels[0]),
        }
        if scene is not None:
            result["last_exposure"] = {
                "exposure_s": scene.exposure_s,
                "light": scene.light,
                "exposure_number": scene.exposure_number,
                "sensor_temperature_c": scene.sensor_temperature_c,
                "dark_current_e_per_s": spec.dark_current_at(scene.sensor_temperature_c),
                "filter_name": scene.filter_name,
                "sky_visible": scene.sky_visible,
                "psf_fwhm_px": self.psf_of(scene).fwhm_px,
                "defocus_fwhm_px": scene.defocus_fwhm_px,
                "sky_e_per_s_per_px": self.sky_rate_e_per_s(scene),
                "panel_e_per_s_per_px": self.panel_rate_e_per_s(scene),
                "true_pointing_deg": list(scene.pointing_deg) if scene.pointing_deg else None,
                "trail_samples": len(scene.pointing_path_deg),
            }
        return result
