"""Masters are never made from flagged calibration frames: a bias off its group's level,
a dark with a light leak, a saturated flat and an underexposed flat are flagged, left out
and named in the step's outputs, and the masters equal those stacked without them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from sqlalchemy import select

from observatory.db.models import Exposure, ImageType, MasterFrame
from observatory.db.session import dispose_engines, session_scope
from observatory.settings import Settings
from observatory.simulator.frames import Frame
from tests.unit.processor.conftest import Night, batch_url, make_settings, run_chain

pytestmark = pytest.mark.slow
STEPS = ("bias", "dark", "flat_dark", "flat")


def bad_frames(night: Night) -> list[Frame]:
    shifted = dataclasses.replace(night.bias[5], data=night.bias[5].data + 200)
    leaked = dataclasses.replace(night.darks[0], data=night.darks[0].data + 500)
    saturated_data = night.flats[0].data.copy()
    saturated_data[: saturated_data.shape[0] // 4] = 65535
    saturated = dataclasses.replace(night.flats[0], data=saturated_data)
    # A bias taken as a flat: no light at all.
    faint = dataclasses.replace(
        night.bias[6], imagetyp=ImageType.FLAT, exposure_s=night.flats[0].exposure_s,
        filter="R", date_obs=night.flats[-1].date_obs,
    )  # fmt: skip
    return [shifted, leaked, saturated, faint]


def masters_of(settings: Settings) -> dict[str, np.ndarray]:
    with session_scope(settings.sqlalchemy_url) as session:
        return {
            m.kind.value: np.asarray(fits.getdata(settings.products_dir / m.path))
            for m in session.scalars(select(MasterFrame))
        }


def test_flagged_frames_are_left_out_of_the_masters_and_named(
    night: Night, tmp_path: Path, _sqlite_migrated_file: Path
) -> None:
    good = [*night.bias[:5], *night.darks, *night.flats]
    clean = make_settings(tmp_path / "clean", _sqlite_migrated_file)
    clean_outcomes = run_chain(clean, batch_url(clean, "20261123-clean-1", good), STEPS)
    flagged = make_settings(tmp_path / "flagged", _sqlite_migrated_file)
    outcomes = run_chain(
        flagged, batch_url(flagged, "20261123-flagged-1", [*good, *bad_frames(night)]), STEPS
    )

    assert all(o["ok"] for units in outcomes.values() for o in units)
    assert clean_outcomes["flat"][0]["outputs"]["left_out"] == []
    (bias_left,) = outcomes["bias"][0]["outputs"]["left_out"]
    assert bias_left["exposure"].startswith("bias_")
    assert (
        bias_left["reasons"][0].startswith("bias level:")
        and "+200.0 ADU" in bias_left["reasons"][0]
    )
    (dark_left,) = outcomes["dark"][0]["outputs"]["left_out"]
    assert (
        dark_left["reasons"][0].startswith("dark level:")
        and "+500.0 ADU" in dark_left["reasons"][0]
    )
    flat_left = outcomes["flat"][0]["outputs"]["left_out"]
    assert [r["reasons"][0].split(":")[0] for r in flat_left] == [
        "flat saturated", "flat underexposed",
    ]  # fmt: skip
    assert outcomes["flat"][0]["outputs"]["inputs"] == len(night.flats)
    ours, reference = masters_of(flagged), masters_of(clean)
    assert np.array_equal(ours["bias"], reference["bias"])
    assert np.array_equal(ours["dark"], reference["dark"])
    assert np.array_equal(ours["flat"], reference["flat"])
    with session_scope(flagged.sqlalchemy_url) as session:
        rows = {e.path: e.quality_flags for e in session.scalars(select(Exposure))}
        master_flat = session.scalars(select(MasterFrame).where(MasterFrame.kind == "flat")).one()
        flat_inputs = {session.get_one(Exposure, pk).path for pk in master_flat.inputs}
    left_paths = {r["exposure"] for r in [bias_left, dark_left, *flat_left]}
    assert {path for path, flags in rows.items() if flags} == left_paths
    assert not flat_inputs & left_paths  # kept in the batch, left out of the master
    assert left_paths <= set(rows)
    dispose_engines(clean.sqlalchemy_url)
    dispose_engines(flagged.sqlalchemy_url)
