"""Revision 0012 keys master frames on their size too: a batch may hold one group in
two sizes (a full frame and a subframe); a downgrade that would have to drop one of them
is refused, naming them."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from observatory.db.migrate import alembic_config, upgrade
from observatory.db.session import get_engine

BATCH = (
    "INSERT INTO file_batches (name, path, state, created_at) "
    "VALUES ('b1', '/data/b1', 'complete', CURRENT_TIMESTAMP)"
)
MASTER = (
    "INSERT INTO master_frames (kind, file_batch_pk, group_key, binning, detector, naxis1, "
    "naxis2, path, n_inputs, inputs, stats, method, date_obs, is_bad, created_at) VALUES "
    "('bias', 1, 'bias|filter=|exptime_s=0.000|binning=1', 1, '', {naxis1}, {naxis2}, "
    "'{path}', 3, '[]', '{{}}', 'median', CURRENT_TIMESTAMP, false, CURRENT_TIMESTAMP)"
)


def _downgrade(url: str, revision: str) -> None:
    with get_engine(url).begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def _master(naxis1: int, naxis2: int) -> str:
    return MASTER.format(naxis1=naxis1, naxis2=naxis2, path=f"b1/bias_{naxis1}x{naxis2}.fits")


def test_a_group_may_hold_two_sizes_and_a_downgrade_that_would_drop_one_is_refused(
    empty_database_url: str,
) -> None:
    upgrade(empty_database_url, "0011_exposure_detector")
    with get_engine(empty_database_url).begin() as connection:
        connection.execute(text(BATCH))
        connection.execute(text(_master(1024, 1024)))
    upgrade(empty_database_url)
    with get_engine(empty_database_url).begin() as connection:
        connection.execute(text(_master(512, 384)))
    with pytest.raises(IntegrityError), get_engine(empty_database_url).begin() as connection:
        connection.execute(text(_master(512, 384)))
    with pytest.raises(RuntimeError, match=r"cannot downgrade below 0012: .*batch 1 bias\|"):
        _downgrade(empty_database_url, "0011_exposure_detector")
    with get_engine(empty_database_url).begin() as connection:
        sizes = connection.execute(text("SELECT naxis1 FROM master_frames ORDER BY naxis1"))
        assert list(sizes.scalars()) == [512, 1024]
        connection.execute(text("DELETE FROM master_frames WHERE naxis1 = 512"))
    _downgrade(empty_database_url, "0011_exposure_detector")
    with pytest.raises(IntegrityError), get_engine(empty_database_url).begin() as connection:
        connection.execute(text(_master(512, 384)))
