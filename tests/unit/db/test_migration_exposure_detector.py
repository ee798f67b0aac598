"""Revision 0011 names the detector of exposures and masters: rows stored before it are
single detectors (the empty name), and one file may then hold a row per detector."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from observatory.db.migrate import upgrade
from observatory.db.session import get_engine

INSERT_EXPOSURE = (
    "INSERT INTO exposures (file_batch_pk, path, imagetyp, exptime_s, date_obs, binning, "
    "header, state, quality_flags{detector}) VALUES (1, 'zero_1.fits', 'bias', 0, "
    "CURRENT_TIMESTAMP, 1, '{{}}', 'ok', '[]'{value})"
)


def _exposure(detector: str | None) -> str:
    if detector is None:
        return INSERT_EXPOSURE.format(detector="", value="")
    return INSERT_EXPOSURE.format(detector=", detector", value=f", '{detector}'")


def test_stored_rows_are_single_detectors_and_a_file_may_hold_several(
    empty_database_url: str,
) -> None:
    upgrade(empty_database_url, "0010_calibration_flags")
    with get_engine(empty_database_url).begin() as connection:
        connection.execute(
            text("INSERT INTO file_batches (name, path, state, created_at) "
                 "VALUES ('b1', '/data/b1', 'complete', CURRENT_TIMESTAMP)")
        )  # fmt: skip
        connection.execute(text(_exposure(None)))
    upgrade(empty_database_url)
    with get_engine(empty_database_url).begin() as connection:
        detectors = connection.execute(text("SELECT detector FROM exposures")).scalars()
        assert list(detectors) == [""]
        connection.execute(text(_exposure("im1")))
        connection.execute(text(_exposure("im2")))
    with pytest.raises(IntegrityError), get_engine(empty_database_url).begin() as connection:
        connection.execute(text(_exposure("im1")))
