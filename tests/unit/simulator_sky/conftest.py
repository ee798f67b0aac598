"""Small sensors and synthesizers for the sky package's tests."""

from __future__ import annotations

import glob
from collections.abc import Callable
from typing import Any

import pytest

from observatory.simulator.sky.catalogue import StarCatalogue
from observatory.simulator.sky.flat import FlatModel
from observatory.simulator.sky.frame import FrameSynthesizer, Optics, Scene
from observatory.simulator.sky.photometry import FilterTable
from observatory.simulator.sky.sensor import SensorModel, SensorSpec
from observatory.simulator.sky.settings import DEFAULT_INDEX_GLOB
from observatory.simulator.sky.stars import Psf

needs_catalogue = pytest.mark.skipif(
    not glob.glob(DEFAULT_INDEX_GLOB),
    reason=f"astrometry.net Tycho-2 index files ({DEFAULT_INDEX_GLOB}) are not installed",
)


@pytest.fixture(scope="session")
def catalogue() -> StarCatalogue:
    if not glob.glob(DEFAULT_INDEX_GLOB):
        pytest.skip(f"astrometry.net Tycho-2 index files ({DEFAULT_INDEX_GLOB}) are absent")
    return StarCatalogue()


@pytest.fixture
def make_synthesizer() -> Callable[..., FrameSynthesizer]:
    """``make_synthesizer(seed=1, catalogue=None, **sensor_fields)``: 256 x 256 pixels."""

    def make(
        seed: int = 1,
        catalogue: StarCatalogue | None = None,
        pixel_scale_arcsec: float = 3.5,
        **sensor: Any,
    ) -> FrameSynthesizer:
        spec = SensorSpec(**{"width_px": 256, "height_px": 256, **sensor})
        optics = Optics(pixel_scale_arcsec, Psf(1.5), rotation_deg=0.5)
        return FrameSynthesizer(
            SensorModel(spec, seed), optics, FilterTable(), FlatModel(), catalogue
        )

    return make


def dark_scene(exposure_s: float, number: int, temperature_c: float = -10.0) -> Scene:
    return Scene(
        exposure_s=exposure_s,
        light=False,
        exposure_number=number,
        sensor_temperature_c=temperature_c,
    )
