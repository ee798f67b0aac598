"""Nights of cameras with defective pixels, as real sensors have them: a dead column
(no response: noise around the bias level in every frame) and, in float frames, a
column the camera's software flagged NaN. The master flat keeps 1 there and says so;
every light is calibrated, the rest of it as if the column were healthy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from sqlalchemy import select

from observatory.db.models import CalibratedFrame, MasterFrame, MasterKind
from observatory.db.session import session_scope
from observatory.settings import Settings
from tests.unit.processor.conftest import run_chain
from tests.unit.processor.rawframes import primary, uint16, write_night

SHAPE = (40, 240)
DEAD, FLAGGED = 7, 9
SKY_ADU = 500.0
STEPS = ("bias", "dark", "flat_dark", "flat", "light")


def night(float_frames: bool) -> dict[str, list[Any]]:
    """Biases, 60 s darks, flats and lights of one camera with a dead column; float32
    frames (as MaxIm or an ASCOM driver may save them) also have a column of NaN."""
    rng = np.random.default_rng(5)
    response = np.linspace(0.8, 1.2, SHAPE[1])[None, :] * np.ones(SHAPE)

    def frame(kind: str, exptime: float, signal: np.ndarray, minute: int) -> list[Any]:
        data = 1000.0 + signal + rng.normal(0, 5, SHAPE)
        data[:, DEAD] = 1000.0 + rng.normal(0, 5, SHAPE[0])
        if float_frames:
            data = data.astype(np.float32)
            data[:, FLAGGED] = np.nan
        else:
            data = uint16(data)
        return [primary(
            data, IMAGETYP=kind, EXPTIME=exptime, FILTER="L", INSTRUME="CCD",
            DATE_OBS=f"2026-12-05T03:{minute:02d}:00",
        )]  # fmt: skip

    files: dict[str, list[Any]] = {}
    for k in range(3):
        files[f"bias_{k}.fits"] = frame("Bias Frame", 0.0, np.zeros(SHAPE), k)
        files[f"dark_{k}.fits"] = frame("Dark Frame", 60.0, np.full(SHAPE, 50.0), 5 + k)
        files[f"flat_{k}.fits"] = frame("Flat Field", 60.0, 50 + 20000 * response, 10 + k)
    for k in range(2):
        files[f"light_{k}.fits"] = frame("Light Frame", 60.0, 50 + SKY_ADU * response, 20 + k)
    return files


@pytest.mark.parametrize("float_frames", [False, True], ids=["uint16", "float32-nan"])
def test_a_dead_or_flagged_column_leaves_the_flat_and_the_lights_usable(
    settings: Settings, float_frames: bool
) -> None:
    url = write_night(settings.batches_dir / "defects", night(float_frames))
    outcomes = run_chain(settings, url, STEPS)
    for step in STEPS:
        assert all(o["ok"] for o in outcomes[step]), outcomes[step]
    products = settings.products_dir
    with session_scope(settings.sqlalchemy_url) as session:
        flat = session.scalars(select(MasterFrame).where(MasterFrame.kind == MasterKind.FLAT)).one()
        lights = [f.path for f in session.scalars(select(CalibratedFrame))]
        flat_header = fits.getheader(products / flat.path)
    defective = [DEAD, FLAGGED] if float_frames else [DEAD]
    assert flat_header["FLATREPL"] == SHAPE[0] * len(defective)
    assert (fits.getdata(products / flat.path)[:, defective] == 1.0).all()
    assert len(lights) == 2
    for path in lights:
        data = fits.getdata(products / path)
        healthy = np.delete(data, defective, axis=1)
        # Flat-corrected: the response gradient is gone, the sky is flat at its level.
        assert np.median(healthy) == pytest.approx(SKY_ADU, rel=0.01)
        assert abs(np.median(healthy[:, :20]) - np.median(healthy[:, -20:])) < 0.02 * SKY_ADU
        assert np.isfinite(data[:, DEAD]).all()
        if float_frames:
            assert np.isnan(data[:, FLAGGED]).all()
