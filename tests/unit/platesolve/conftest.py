"""A calibrated simulator frame of a real star field, and settings for the solvers."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest

from observatory.bench.skyframes import SkyFrame, SkyFrameMaker
from observatory.platesolve import engine
from observatory.settings import Settings
from observatory.simulator.sky.catalogue import CatalogueUnavailable

INDEX_GLOB = Settings().processor.index_glob


def require_engine() -> None:
    if not engine.available():
        pytest.skip("the astrometry package is not installed (pip install astrometry)")
    if not glob.glob(INDEX_GLOB):
        pytest.skip(
            f"no astrometry.net index files match {INDEX_GLOB} "
            "(Debian package astrometry-data-tycho2-10-19-littleendian)"
        )


@pytest.fixture(scope="session")
def sky_frame() -> SkyFrame:
    """1024 x 1024 at 7"/px, one hour of RA from Regulus (Tycho-2 covers every field)."""
    try:
        maker = SkyFrameMaker(1024, 7.0)
    except CatalogueUnavailable as error:
        pytest.skip(f"the simulator has no star catalogue here: {error}")
    return maker.frame(150.0, 20.0)


@pytest.fixture
def sky_frame_file(sky_frame: SkyFrame, tmp_path: Path) -> Path:
    return sky_frame.write(tmp_path / "light_L_30s_0001.fits")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")
