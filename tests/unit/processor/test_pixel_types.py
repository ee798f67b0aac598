"""Flats saturate at the ceiling of the pixel type their camera writes when the headers
give no SATURATE: 32767 for signed 16-bit frames (BITPIX 16 without BZERO, as older
CCD software writes), 255 for 8-bit ones (webcams, planetary cameras), 65535 for the
usual unsigned 16-bit; a flat clipped there is left out of the master."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from observatory.db.session import dispose_engines
from observatory.settings import Settings
from tests.unit.processor.conftest import make_settings, run_chain
from tests.unit.processor.rawframes import primary, write_night

SHAPE = (32, 48)
STEPS = ("bias", "dark", "flat_dark", "flat")


@pytest.fixture
def settings(tmp_path: Path, _sqlite_migrated_file: Path) -> Iterator[Settings]:
    made = make_settings(tmp_path / "data", _sqlite_migrated_file)
    yield made
    dispose_engines(made.sqlalchemy_url)


def night(dtype: type[np.integer[Any]], bias_adu: float, flat_adu: float) -> dict[str, Any]:
    """Biases, darks and four flats of ``dtype``; the last flat's top quarter clipped at
    the type's ceiling (a flat taken as the sky brightened)."""
    rng = np.random.default_rng(2)
    ceiling = np.iinfo(dtype).max

    def frame(kind: str, exptime: float, level: float, minute: int) -> list[Any]:
        data = np.clip(np.round(level + rng.normal(0, 2, SHAPE)), 0, ceiling).astype(dtype)
        return [primary(data, IMAGETYP=kind, EXPTIME=exptime, FILTER="L",
                        DATE_OBS=f"2026-12-05T03:{minute:02d}:00")]  # fmt: skip

    files: dict[str, Any] = {}
    for k in range(3):
        files[f"bias_{k}.fits"] = frame("Bias Frame", 0.0, bias_adu, k)
        files[f"dark_{k}.fits"] = frame("Dark Frame", 5.0, bias_adu + 2, 5 + k)
    for k in range(4):
        files[f"flat_{k}.fits"] = frame("Flat Field", 5.0, bias_adu + flat_adu, 10 + k)
    clipped = files["flat_3.fits"][0].data
    clipped[: SHAPE[0] // 4] = ceiling
    return files


@pytest.mark.parametrize(
    ("dtype", "bias_adu", "flat_adu"),
    [(np.int16, 500.0, 20000.0), (np.uint8, 10.0, 150.0), (np.uint16, 1000.0, 30000.0)],
    ids=["int16", "uint8", "uint16"],
)
def test_a_flat_clipped_at_its_pixel_type_s_ceiling_is_left_out(
    settings: Settings, dtype: type[np.integer[Any]], bias_adu: float, flat_adu: float
) -> None:
    url = write_night(settings.batches_dir / "types", night(dtype, bias_adu, flat_adu))
    outcomes = run_chain(settings, url, STEPS)
    (flat,) = outcomes["flat"]
    assert flat["ok"], flat
    (left,) = flat["outputs"]["left_out"]
    assert left["exposure"] == "flat_3.fits"
    assert left["reasons"][0].startswith("flat saturated: 25.00 %")
