"""A batch holding one group in two frame sizes (full frames and a subframe, as an
operator takes for a bright target or a fast focus run): each size gets its own masters,
and each light is calibrated by the masters of its own size."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from observatory.db.models import CalibratedFrame, Exposure, MasterFrame
from observatory.db.session import session_scope
from observatory.settings import Settings
from observatory.simulator.frames import Frame
from tests.unit.processor.conftest import Night, batch_url, run_chain

# A subframe away from the frame's corner, of a size no other frame has.
ROWS, COLUMNS = slice(200, 584), slice(100, 612)


def _subframe(frame: Frame) -> Frame:
    return dataclasses.replace(frame, data=frame.data[ROWS, COLUMNS].copy())


def _night_in_two_sizes(night: Night) -> list[Frame]:
    full = [*night.bias[:3], *night.darks[:3], *night.flats[:3], night.lights[0]]
    cropped = [*night.bias[3:6], *night.darks[2:5], *night.flats[2:5], night.lights[1]]
    return full + [_subframe(frame) for frame in cropped]


@pytest.mark.slow
def test_each_size_of_a_group_gets_its_own_masters_and_calibrates_its_own_lights(
    settings: Settings, night: Night
) -> None:
    url = batch_url(settings, "20261206-subframes", _night_in_two_sizes(night))
    outcomes = run_chain(settings, url, ("bias", "dark", "flat_dark", "flat", "light"))
    assert all(o["ok"] for units in outcomes.values() for o in units), outcomes
    full, sub = (1024, 1024), (COLUMNS.stop - COLUMNS.start, ROWS.stop - ROWS.start)
    with session_scope(settings.sqlalchemy_url) as session:
        masters = session.scalars(select(MasterFrame)).all()
        sizes = {(m.kind, (m.naxis1, m.naxis2)) for m in masters}
        assert sizes == {(kind, size) for kind in ("bias", "dark", "flat") for size in (full, sub)}
        paths = [m.path for m in masters]
        assert len(set(paths)) == 6
        assert all((settings.products_dir / p).is_file() for p in paths)
        size_of = {m.pk: (m.naxis1, m.naxis2) for m in masters}
        calibrated = session.scalars(select(CalibratedFrame)).all()
        assert len(calibrated) == 2
        for frame in calibrated:
            exposure = session.get_one(Exposure, frame.exposure_pk)
            own = (exposure.naxis1, exposure.naxis2)
            assert {size_of[frame.bias_pk], size_of[frame.dark_pk], size_of[frame.flat_pk]} == {
                own
            }, (exposure.path, own)
