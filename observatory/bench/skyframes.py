"""Calibrated light frames of real star fields from the bundled simulator, for the plate
solving benchmark and tests: the simulator's frame synthesizer (Tycho-2 stars through the
astrometry.net index files, its PSF, sky, noise and flat), bias removed and flat divided
with the simulator's own truth, so the frame is what the light step would write.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from numpy.typing import NDArray

from observatory.platesolve.hints import ARCSEC_PER_RADIAN
from observatory.simulator.sky.catalogue import StarCatalogue
from observatory.simulator.sky.flat import FlatModel
from observatory.simulator.sky.frame import FrameSynthesizer, Optics, Scene
from observatory.simulator.sky.photometry import FilterTable
from observatory.simulator.sky.readout import Readout
from observatory.simulator.sky.sensor import SensorModel, SensorSpec
from observatory.simulator.sky.stars import Psf

PIXEL_UM = 9.0
FILTER = "L"
# Where the mount says it points, off the truth as a real mount's model leaves it.
MOUNT_ERROR_DEG = (0.3, -0.2)
# Pointings sampled along a trail (the simulator renders the star at each).
TRAIL_STEPS = 24


@dataclass(frozen=True)
class SkyFrame:
    """A calibrated light ``data[y, x]`` [ADU] with capture-program header cards, and the
    simulator's truth: the sky position of the frame's centre [deg], the scale
    [arcsec/px], the PSF FWHM [arcsec], the zero point [mag for 1 e-/s], gain [e-/ADU]."""

    data: NDArray[np.float32]
    header: fits.Header
    true_centre_deg: tuple[float, float]
    scale_arcsec: float
    psf_fwhm_arcsec: float
    zero_point_mag: float
    gain_e_per_adu: float

    def write(self, path: Path) -> Path:
        fits.PrimaryHDU(self.data, self.header).writeto(path, overwrite=True)
        return path


class SkyFrameMaker:
    """Renders frames of one camera (size, scale, PSF) at any pointing."""

    def __init__(
        self, size_px: int, scale_arcsec: float, psf_fwhm_arcsec: float | None = None,
        seed: int = 1, catalogue: StarCatalogue | None = None,
    ) -> None:  # fmt: skip
        """``psf_fwhm_arcsec`` defaults to 5" seeing, or 2 pixels on a coarser plate scale.
        Raises CatalogueUnavailable when the index files or query-starkd are absent."""
        if psf_fwhm_arcsec is None:
            psf_fwhm_arcsec = max(5.0, 2.0 * scale_arcsec)
        spec = SensorSpec(width_px=size_px, height_px=size_px, pixel_size_um=PIXEL_UM)
        psf = Psf(psf_fwhm_arcsec / scale_arcsec)
        optics = Optics(scale_arcsec, psf, rotation_deg=0.5)
        self.synthesizer = FrameSynthesizer(
            SensorModel(spec, seed),
            optics,
            FilterTable(),
            FlatModel(),
            catalogue or StarCatalogue(),
        )
        self.size_px, self.scale_arcsec, self.psf_fwhm_arcsec = (
            size_px,
            scale_arcsec,
            psf_fwhm_arcsec,
        )
        self._number = 0

    def frame(
        self, ra_deg: float, dec_deg: float, exposure_s: float = 30.0, trail_arcsec: float = 0.0
    ) -> SkyFrame:
        """A frame centred on (ra, dec) [deg]; ``trail_arcsec`` > 0 drifts the pointing
        east by that much during the exposure (tracking off), so the stars trail."""
        self._number += 1
        path: tuple[tuple[float, float], ...] = ()
        if trail_arcsec > 0:
            step_deg = trail_arcsec / 3600.0 / np.cos(np.radians(dec_deg)) / (TRAIL_STEPS - 1)
            path = tuple((ra_deg + i * step_deg, dec_deg) for i in range(TRAIL_STEPS))
        scene = Scene(
            exposure_s=exposure_s, light=True, exposure_number=self._number,
            sensor_temperature_c=-10.0, filter_name=FILTER, sky_visible=True,
            pointing_deg=(ra_deg, dec_deg), pointing_path_deg=path,
        )  # fmt: skip
        sensor = self.synthesizer.sensor
        raw = self.synthesizer.render(scene, Readout(0, 0, self.size_px, self.size_px))
        dark_adu = sensor.dark_map * sensor.spec.dark_current_at(-10.0) * exposure_s
        dark_adu /= sensor.spec.gain_e_per_adu
        calibrated = (raw - sensor.bias_adu - dark_adu) / self.synthesizer.flat_response(FILTER)
        focal_mm = ARCSEC_PER_RADIAN * PIXEL_UM * 1e-3 / self.scale_arcsec
        header = fits.Header()
        header["IMAGETYP"] = "Light Frame"
        header["EXPTIME"] = exposure_s
        header["FILTER"] = FILTER
        header["RA"] = (ra_deg + MOUNT_ERROR_DEG[0]) % 360.0
        header["DEC"] = float(np.clip(dec_deg + MOUNT_ERROR_DEG[1], -90.0, 90.0))
        header["XPIXSZ"], header["YPIXSZ"], header["FOCALLEN"] = PIXEL_UM, PIXEL_UM, focal_mm
        header["GAIN"] = sensor.spec.gain_e_per_adu
        return SkyFrame(
            data=np.ascontiguousarray(calibrated.T, dtype=np.float32),
            header=header,
            true_centre_deg=(ra_deg, dec_deg),
            scale_arcsec=self.scale_arcsec,
            psf_fwhm_arcsec=self.psf_fwhm_arcsec,
            zero_point_mag=self.synthesizer.filters.model(FILTER).zero_point_mag,
            gain_e_per_adu=sensor.spec.gain_e_per_adu,
        )
