"""Darks are grouped by exposure time: each exposure time gets its own master, made only
from its own frames (the original design: "dark stack, grouped by exptime and filter")."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from sqlalchemy import select

from observatory.db.models import Exposure, MasterFrame, MasterKind
from observatory.db.session import dispose_engines, session_scope
from observatory.simulator.frames import Frame
from tests.unit.processor.conftest import DARK_S, Night, batch_url, make_settings, run_chain

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::astropy.wcs.FITSFixedWarning"),
]

LONG_DARK_S = 3 * DARK_S
# Extra signal of the long darks over the short ones, ADU: far above the noise of a master.
LONG_EXTRA_ADU = 400


def long_darks(night: Night) -> list[Frame]:
    """The night's darks relabelled as longer ones with more dark signal, so that a master
    mixing the two exposure times lies between the two levels."""
    return [
        dataclasses.replace(
            dark,
            exposure_s=LONG_DARK_S,
            data=(dark.data.astype(np.int64) + LONG_EXTRA_ADU).astype(dark.data.dtype),
        )
        for dark in night.darks
    ]


def test_two_dark_exposure_times_give_two_masters_of_their_own_frames(
    night: Night, tmp_path: Path, _sqlite_migrated_file: Path
) -> None:
    settings = make_settings(tmp_path, _sqlite_migrated_file)
    frames = [*night.bias[:5], *night.darks, *long_darks(night)]
    outcomes = run_chain(
        settings, batch_url(settings, "20261206-darks-1", frames), steps=("bias", "dark")
    )
    assert [outcome["ok"] for outcome in outcomes["dark"]] == [True, True], outcomes["dark"]
    with session_scope(settings.sqlalchemy_url) as session:
        darks_by_time: dict[float, set[int]] = {}
        for exposure in session.scalars(select(Exposure).where(Exposure.imagetyp == "dark")):
            darks_by_time.setdefault(exposure.exptime_s, set()).add(exposure.pk)
        masters = {
            m.exptime_s: (set(m.inputs), m.path)
            for m in session.scalars(select(MasterFrame).where(MasterFrame.kind == MasterKind.DARK))
        }
    dispose_engines(settings.sqlalchemy_url)
    assert sorted(masters) == [DARK_S, LONG_DARK_S]
    for exptime_s, (inputs, _) in masters.items():
        assert inputs == darks_by_time[exptime_s], f"the {exptime_s:g} s master's inputs"
    levels = {
        exptime_s: float(np.median(fits.getdata(settings.products_dir / path)))
        for exptime_s, (_, path) in masters.items()
    }
    assert levels[LONG_DARK_S] - levels[DARK_S] == pytest.approx(LONG_EXTRA_ADU, abs=5)
