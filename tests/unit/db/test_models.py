"""The models round-trip through SQLite and PostgreSQL and their constraints hold."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError

from observatory.db.models import (
    CalibratedFrame,
    DeviceEvent,
    Exposure,
    FileBatch,
    MasterFrame,
    MasterKind,
    StepRun,
    StepState,
    WcsStatus,
    WorkOrder,
    WorkOrderState,
    master_group_key,
)
from observatory.db.session import session_scope

PLUS_TWO = dt.timezone(dt.timedelta(hours=2))


def make_order(order_id: str = "obs-1", user: str = "alice", **fields: object) -> WorkOrder:
    payload = {"id": order_id, "user": user, "request": "observation", "targets": [1.5, "M31"]}
    return WorkOrder(order_id=order_id, user=user, request="observation", payload=payload, **fields)


def test_work_order_round_trips_with_defaults(database_url: str) -> None:
    with session_scope(database_url) as session:
        session.add(make_order(priority=5.0))
    with session_scope(database_url) as session:
        order = session.scalars(select(WorkOrder)).one()
        assert order.state is WorkOrderState.RECEIVED
        assert order.attempts == 0
        assert order.priority == 5.0
        assert order.payload["targets"] == [1.5, "M31"]
        assert order.received_at.tzinfo is dt.UTC
        assert abs(order.received_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
        assert order.published_at is None


def test_aware_datetimes_come_back_as_the_same_instant_in_utc(database_url: str) -> None:
    started = dt.datetime(2026, 11, 23, 23, 59, 59, 123456, tzinfo=PLUS_TWO)
    with session_scope(database_url) as session:
        session.add(make_order(started_at=started))
    with session_scope(database_url) as session:
        stored = session.scalars(select(WorkOrder.started_at)).one()
    assert stored == started
    assert stored.tzinfo is dt.UTC
    assert stored.hour == 21


def test_naive_datetimes_are_refused(database_url: str) -> None:
    with (
        pytest.raises(StatementError, match="naive datetime"),
        session_scope(database_url) as session,
    ):
        session.add(make_order(started_at=dt.datetime(2026, 11, 23, 12, 0)))


def test_datetime_comparisons_in_queries_use_utc(database_url: str) -> None:
    started = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
    with session_scope(database_url) as session:
        session.add(make_order(started_at=started))
    same_instant_elsewhere = started.astimezone(PLUS_TWO)
    with session_scope(database_url) as session:
        before = select(WorkOrder).where(WorkOrder.started_at < same_instant_elsewhere)
        at = select(WorkOrder).where(WorkOrder.started_at == same_instant_elsewhere)
        assert session.scalars(before).all() == []
        assert len(session.scalars(at).all()) == 1


def test_states_are_stored_as_their_short_strings(database_url: str) -> None:
    with session_scope(database_url) as session:
        session.add(make_order(state="queued"))
    with session_scope(database_url) as session:
        assert session.scalar(text("SELECT state FROM work_orders")) == "queued"
        assert session.scalars(select(WorkOrder)).one().state is WorkOrderState.QUEUED


def test_unknown_state_is_refused_by_the_model(database_url: str) -> None:
    with pytest.raises(StatementError), session_scope(database_url) as session:
        session.add(make_order(state="exploded"))


def test_unknown_state_is_refused_by_the_database(database_url: str) -> None:
    insert = text(
        'INSERT INTO work_orders (order_id, "user", request, payload, state, attempts, '
        "received_at, updated_at) VALUES ('x', 'u', 'r', '{}', 'exploded', 0, "
        "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    )
    with pytest.raises(IntegrityError, match=r"(?i)check"), session_scope(database_url) as session:
        session.execute(insert)


def test_same_order_id_user_and_queue_twice_is_refused(database_url: str) -> None:
    with session_scope(database_url) as session:
        session.add(make_order("obs-1", "alice", queue="telescope"))
    with pytest.raises(IntegrityError), session_scope(database_url) as session:
        session.add(make_order("obs-1", "alice", queue="telescope"))
    with session_scope(database_url) as session:
        session.add(make_order("obs-1", "bob", queue="telescope"))
    # The design notes send id "1" to the processor and to the telescope: two orders.
    with session_scope(database_url) as session:
        session.add(make_order("obs-1", "alice", queue="processor"))
    with session_scope(database_url) as session:
        assert len(session.scalars(select(WorkOrder)).all()) == 3


def test_top_level_json_changes_are_saved(database_url: str) -> None:
    with session_scope(database_url) as session:
        order = make_order()
        session.add(order)
    with session_scope(database_url) as session:
        order = session.scalars(select(WorkOrder)).one()
        order.payload["priority"] = 9.5
    with session_scope(database_url) as session:
        assert session.scalars(select(WorkOrder)).one().payload["priority"] == 9.5


def test_step_runs_are_ordered_by_start_and_unique_per_attempt(database_url: str) -> None:
    t0 = dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.UTC)
    with session_scope(database_url) as session:
        order = make_order()
        order.step_runs = [
            StepRun(step="flats", attempt=1, started_at=t0 + dt.timedelta(minutes=2)),
            StepRun(step="bias", attempt=1, started_at=t0, state=StepState.SUCCEEDED),
        ]
        session.add(order)
    with session_scope(database_url) as session:
        order = session.scalars(select(WorkOrder)).one()
        assert [run.step for run in order.step_runs] == ["bias", "flats"]
        assert order.step_runs[1].state is StepState.RUNNING
        assert order.step_runs[1].outputs is None
        order_pk = order.pk
    with pytest.raises(IntegrityError), session_scope(database_url) as session:
        session.add(StepRun(work_order_pk=order_pk, step="bias", attempt=1))


def test_step_run_outputs_json_and_error_text_round_trip(database_url: str) -> None:
    outputs = {"master_pks": [3, 4], "nested": {"ok": True, "ratio": 0.25}, "name": "Ω"}
    with session_scope(database_url) as session:
        order = make_order()
        order.step_runs = [
            StepRun(step="darks", state=StepState.FAILED, outputs=outputs, error="boom\n" * 3)
        ]
        session.add(order)
    with session_scope(database_url) as session:
        run = session.scalars(select(StepRun)).one()
        assert run.outputs == outputs
        assert run.error == "boom\n" * 3


def test_parent_and_children(database_url: str) -> None:
    with session_scope(database_url) as session:
        parent = make_order("night-1")
        parent.children = [make_order("batch-1"), make_order("batch-2")]
        session.add(parent)
    with session_scope(database_url) as session:
        parent = session.scalars(select(WorkOrder).where(WorkOrder.order_id == "night-1")).one()
        assert [child.order_id for child in parent.children] == ["batch-1", "batch-2"]
        assert parent.children[0].parent is parent


def _batch_with_exposure(session: object, name: str = "20261123-obs-42") -> Exposure:
    batch = FileBatch(name=name, path=f"/data/{name}")
    exposure = Exposure(
        file_batch=batch,
        path="bias_001.fits",
        imagetyp="bias",
        exptime_s=0.0,
        date_obs=dt.datetime(2026, 11, 23, 18, 0, tzinfo=dt.UTC),
        header={"IMAGETYP": "Bias Frame", "EXPTIME": 0.0},
    )
    session.add(exposure)  # type: ignore[attr-defined]
    return exposure


def test_exposures_are_unique_per_batch_and_path(database_url: str) -> None:
    with session_scope(database_url) as session:
        exposure = _batch_with_exposure(session)
        session.flush()
        batch_pk = exposure.file_batch_pk
    with session_scope(database_url) as session:
        stored = session.scalars(select(Exposure)).one()
        assert stored.header == {"IMAGETYP": "Bias Frame", "EXPTIME": 0.0}
        assert stored.binning == 1
        assert stored.state == "ok"
    with pytest.raises(IntegrityError), session_scope(database_url) as session:
        session.add(
            Exposure(
                file_batch_pk=batch_pk,
                path="bias_001.fits",
                imagetyp="bias",
                exptime_s=0.0,
                date_obs=dt.datetime(2026, 11, 23, 18, 1, tzinfo=dt.UTC),
            )
        )


def test_file_batch_names_are_unique(database_url: str) -> None:
    with session_scope(database_url) as session:
        session.add(FileBatch(name="b1", path="/data/b1"))
    with pytest.raises(IntegrityError), session_scope(database_url) as session:
        session.add(FileBatch(name="b1", path="/elsewhere"))


def _master(batch: FileBatch | None, **fields: object) -> MasterFrame:
    values: dict[str, object] = {
        "kind": MasterKind.DARK,
        "file_batch": batch,
        "filter": None,
        "exptime_s": 30.0,
        "naxis1": 64,
        "naxis2": 48,
        "path": "masters/dark.fits",
        "n_inputs": 2,
        "inputs": [1, 2],
        "stats": {"median_adu": 101.5},
        "method": "median",
        "date_obs": dt.datetime(2026, 11, 23, 18, 30, tzinfo=dt.UTC),
    }
    values.update(fields)
    return MasterFrame(**values)


def test_master_frame_gets_its_group_key_and_defaults(database_url: str) -> None:
    with session_scope(database_url) as session:
        session.add(_master(FileBatch(name="b1", path="/data/b1")))
    with session_scope(database_url) as session:
        frame = session.scalars(select(MasterFrame)).one()
        assert frame.group_key == "dark|filter=|exptime_s=30.000|binning=1"
        assert frame.group_key == master_group_key("dark", None, 30.0, 1)
        assert frame.binning == 1
        assert frame.is_bad is False
        assert frame.inputs == [1, 2]


def test_master_frames_without_filter_are_one_group_per_batch(database_url: str) -> None:
    # filter NULL twice would not collide in a plain UNIQUE; group_key makes it collide.
    with session_scope(database_url) as session:
        session.add(_master(FileBatch(name="b1", path="/data/b1")))
    with pytest.raises(IntegrityError), session_scope(database_url) as session:
        batch = session.scalars(select(FileBatch)).one()
        session.add(_master(batch, path="masters/dark-again.fits"))


def test_masters_of_two_detectors_are_two_groups_of_one_batch(database_url: str) -> None:
    with session_scope(database_url) as session:
        batch = FileBatch(name="b1", path="/data/b1")
        session.add(_master(batch, detector="im1", path="masters/dark_im1.fits"))
        session.add(_master(batch, detector="im2", path="masters/dark_im2.fits"))
    with session_scope(database_url) as session:
        keys = sorted(session.scalars(select(MasterFrame.group_key)))
    assert keys == [
        "dark|filter=|exptime_s=30.000|binning=1|detector=im1",
        "dark|filter=|exptime_s=30.000|binning=1|detector=im2",
    ]
    # A single detector's key is what it was before detectors were named.
    assert master_group_key("dark", None, 30.0, 1, "") == "dark|filter=|exptime_s=30.000|binning=1"


def test_master_frame_group_key_follows_changes(database_url: str) -> None:
    with session_scope(database_url) as session:
        session.add(_master(FileBatch(name="b1", path="/data/b1")))
    with session_scope(database_url) as session:
        frame = session.scalars(select(MasterFrame)).one()
        frame.exptime_s = 60.0
    with session_scope(database_url) as session:
        assert session.scalars(select(MasterFrame.group_key)).one() == master_group_key(
            "dark", None, 60.0, 1
        )


def test_calibrated_frame_links_exposure_and_masters(database_url: str) -> None:
    with session_scope(database_url) as session:
        exposure = _batch_with_exposure(session)
        dark = _master(exposure.file_batch)
        session.add(
            CalibratedFrame(
                exposure=exposure, path="calibrated/light_001.fits", dark=dark, stats={"a": 1}
            )
        )
    with session_scope(database_url) as session:
        frame = session.scalars(select(CalibratedFrame)).one()
        assert frame.wcs_status is WcsStatus.PENDING
        assert frame.dark is not None and frame.dark.kind is MasterKind.DARK
        assert frame.bias is None
        assert frame.exposure.calibrated_frame is frame
        exposure_pk = frame.exposure_pk
    with pytest.raises(IntegrityError), session_scope(database_url) as session:
        session.add(CalibratedFrame(exposure_pk=exposure_pk, path="again.fits"))


def test_device_events_round_trip(database_url: str) -> None:
    at = dt.datetime(2026, 11, 23, 22, 15, 1, tzinfo=dt.UTC)
    with session_scope(database_url) as session:
        session.add(
            DeviceEvent(at=at, device="dome", event="shutter_opened", details={"az_deg": 12.5})
        )
    with session_scope(database_url) as session:
        event = session.scalars(select(DeviceEvent)).one()
        assert (event.at, event.device, event.details) == (at, "dome", {"az_deg": 12.5})
        assert event.work_order_pk is None


def test_deleting_a_work_order_deletes_its_step_runs(database_url: str) -> None:
    with session_scope(database_url) as session:
        order = make_order()
        order.step_runs = [StepRun(step="dome_open")]
        session.add(order)
    with session_scope(database_url) as session:
        session.execute(text("DELETE FROM work_orders"))
    with session_scope(database_url) as session:
        assert session.scalars(select(StepRun)).all() == []
