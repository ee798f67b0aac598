"""The shared query functions, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from observatory.db.models import (
    FileBatch,
    MasterFrame,
    MasterKind,
    StepRun,
    StepState,
    WorkOrder,
    WorkOrderState,
)
from observatory.db.queries import (
    find_work_order,
    get_work_order,
    latest_step_run,
    step_runs_for,
    upsert_master_frame,
    work_orders_in_state,
)
from observatory.db.session import session_scope
from observatory.errors import WorkOrderNotFound

T0 = dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.UTC)


def _order(order_id: str, state: WorkOrderState, minutes: int) -> WorkOrder:
    at = T0 + dt.timedelta(minutes=minutes)
    return WorkOrder(
        order_id=order_id,
        user="alice",
        request="dome_open",
        payload={"id": order_id},
        state=state,
        received_at=at,
        updated_at=at,
    )


def test_get_and_find_work_order(database_url: str) -> None:
    with session_scope(database_url) as session:
        order = _order("o-1", WorkOrderState.RECEIVED, 0)
        session.add(order)
        session.flush()
        pk = order.pk
    with session_scope(database_url) as session:
        assert get_work_order(session, pk).order_id == "o-1"
        found = find_work_order(session, "o-1", "alice")
        assert found is not None and found.pk == pk
        assert find_work_order(session, "o-1", "bob") is None
        with pytest.raises(WorkOrderNotFound, match=str(pk + 1)):
            get_work_order(session, pk + 1)


def test_work_orders_in_state_filters_and_orders_by_receipt(database_url: str) -> None:
    with session_scope(database_url) as session:
        session.add_all(
            [
                _order("late", WorkOrderState.RECEIVED, 10),
                _order("early", WorkOrderState.RECEIVED, 1),
                _order("queued", WorkOrderState.QUEUED, 5),
                _order("done", WorkOrderState.SUCCEEDED, 0),
            ]
        )
    with session_scope(database_url) as session:
        received = work_orders_in_state(session, [WorkOrderState.RECEIVED])
        assert [o.order_id for o in received] == ["early", "late"]
        either = work_orders_in_state(session, ["received", "queued"])
        assert [o.order_id for o in either] == ["early", "queued", "late"]
        stale = work_orders_in_state(
            session, [WorkOrderState.RECEIVED], older_than=T0 + dt.timedelta(minutes=5)
        )
        assert [o.order_id for o in stale] == ["early"]
        assert work_orders_in_state(session, []) == []


def test_step_runs_for_and_latest_step_run(database_url: str) -> None:
    with session_scope(database_url) as session:
        order = _order("o-1", WorkOrderState.RUNNING, 0)
        order.step_runs = [
            StepRun(step="bias", attempt=1, state=StepState.FAILED, started_at=T0),
            StepRun(step="darks", attempt=1, started_at=T0 + dt.timedelta(minutes=1)),
            StepRun(step="bias", attempt=2, started_at=T0 + dt.timedelta(minutes=2)),
        ]
        session.add(order)
        session.flush()
        pk = order.pk
    with session_scope(database_url) as session:
        runs = step_runs_for(session, pk)
        assert [(r.step, r.attempt) for r in runs] == [("bias", 1), ("darks", 1), ("bias", 2)]
        latest = latest_step_run(session, pk, "bias")
        assert latest is not None and (latest.attempt, latest.state) == (2, StepState.RUNNING)
        assert latest_step_run(session, pk, "flats") is None
        assert step_runs_for(session, pk + 1) == []


def _master_values(batch_pk: int | None, **fields: object) -> dict[str, object]:
    values: dict[str, object] = {
        "kind": MasterKind.FLAT,
        "file_batch_pk": batch_pk,
        "filter": "R",
        "exptime_s": None,
        "naxis1": 64,
        "naxis2": 48,
        "path": "masters/flat_R.fits",
        "n_inputs": 3,
        "inputs": [1, 2, 3],
        "stats": {"median": 1.0},
        "method": "median",
        "date_obs": T0,
    }
    values.update(fields)
    return values


def _new_batch(database_url: str) -> int:
    with session_scope(database_url) as session:
        batch = FileBatch(name="20261123-obs-42", path="/data/20261123-obs-42")
        session.add(batch)
        session.flush()
        return batch.pk


def test_upsert_master_frame_twice_keeps_one_row_with_new_values(database_url: str) -> None:
    batch_pk = _new_batch(database_url)
    with session_scope(database_url) as session:
        first = upsert_master_frame(session, **_master_values(batch_pk))
        first_pk, created_at = first.pk, first.created_at
    with session_scope(database_url) as session:
        again = upsert_master_frame(
            session, **_master_values(batch_pk, path="masters/flat_R-2.fits", inputs=[4, 5])
        )
        assert again.pk == first_pk
        assert again.path == "masters/flat_R-2.fits"
        assert again.inputs == [4, 5]
        assert again.date_obs == T0
    with session_scope(database_url) as session:
        frames = session.scalars(select(MasterFrame)).all()
        assert len(frames) == 1
        assert frames[0].created_at == created_at
        assert frames[0].group_key == "flat|filter=R|exptime_s=|binning=1"


def test_upsert_master_frame_keeps_groups_apart(database_url: str) -> None:
    batch_pk = _new_batch(database_url)
    with session_scope(database_url) as session:
        upsert_master_frame(session, **_master_values(batch_pk, filter="R"))
        upsert_master_frame(session, **_master_values(batch_pk, filter="V"))
        upsert_master_frame(session, **_master_values(batch_pk, filter="V", binning=2))
        upsert_master_frame(session, **_master_values(batch_pk, filter="V", binning=2))
    with session_scope(database_url) as session:
        keys = sorted(session.scalars(select(MasterFrame.group_key)))
    assert keys == [
        "flat|filter=R|exptime_s=|binning=1",
        "flat|filter=V|exptime_s=|binning=1",
        "flat|filter=V|exptime_s=|binning=2",
    ]


def test_upsert_master_frame_keeps_two_sizes_of_one_group_apart(database_url: str) -> None:
    # A full frame and a subframe of one group in one batch: two masters, each replaced
    # only by a master of its own size.
    batch_pk = _new_batch(database_url)
    with session_scope(database_url) as session:
        full = upsert_master_frame(session, **_master_values(batch_pk)).pk
        sub = upsert_master_frame(
            session, **_master_values(batch_pk, naxis1=512, naxis2=384, path="masters/sub.fits")
        ).pk
        again = upsert_master_frame(
            session, **_master_values(batch_pk, naxis1=512, naxis2=384, path="masters/sub-2.fits")
        ).pk
    assert sub != full and again == sub
    with session_scope(database_url) as session:
        rows = session.execute(select(MasterFrame.naxis1, MasterFrame.naxis2, MasterFrame.path))
        assert sorted(rows) == [(64, 48, "masters/flat_R.fits"), (512, 384, "masters/sub-2.fits")]


def test_upsert_master_frame_refuses_unknown_or_derived_fields(database_url: str) -> None:
    with session_scope(database_url) as session:
        with pytest.raises(ValueError, match="colour"):
            upsert_master_frame(session, **_master_values(None, colour="red"))
        with pytest.raises(ValueError, match="group_key"):
            upsert_master_frame(session, **_master_values(None, group_key="x"))
