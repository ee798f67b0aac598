"""The ledger's audit reads what the database holds, and names every non-zero figure."""

from __future__ import annotations

import datetime as dt

from observatory.chaos.ledger import Ledger, audit
from observatory.db.models import (
    Exposure,
    FileBatch,
    MasterFrame,
    MasterKind,
    StepRun,
    StepState,
    WorkOrder,
    WorkOrderState,
)
from observatory.db.session import session_scope


def add_order(session, order_id: str, state: WorkOrderState, reason: str | None = None):  # type: ignore[no-untyped-def]
    order = WorkOrder(order_id=order_id, user="t", request="dome_status", payload={},
                      state=state, state_reason=reason)  # fmt: skip
    session.add(order)
    session.flush()
    return order


def test_audit_counts_states_lost_twice_and_duplicates(database_url: str) -> None:
    now = dt.datetime.now(dt.UTC)
    with session_scope(database_url) as session:
        add_order(session, "ok", WorkOrderState.SUCCEEDED)
        add_order(session, "bad", WorkOrderState.FAILED, "the dome did not answer")
        add_order(session, "stuck", WorkOrderState.RUNNING)
        twice = add_order(session, "twice", WorkOrderState.SUCCEEDED)
        for attempt in (1, 2):
            session.add(StepRun(work_order_pk=twice.pk, step="status", attempt=attempt,
                                state=StepState.SUCCEEDED))  # fmt: skip
        for name in ("b1", "b2"):
            batch = FileBatch(name=name, path=f"/data/{name}")
            session.add(batch)
            session.flush()
            # The same exposure path in two batches is two files: not a duplicate.
            session.add(Exposure(file_batch_pk=batch.pk, path="bias_0001.fits",
                                 imagetyp="bias", exptime_s=0.0, date_obs=now))  # fmt: skip
            # Two masters written to one file are.
            session.add(MasterFrame(kind=MasterKind.BIAS, file_batch_pk=batch.pk, naxis1=8,
                naxis2=8, path="masters/bias.fits", n_inputs=1, inputs=[1], method="median",
                date_obs=now))  # fmt: skip
    ledger = Ledger(nights=1, chaos_seed=None)
    audit(ledger, database_url)
    assert ledger.orders == {"submitted": 4, "succeeded": 2, "failed": 1, "running": 1}
    assert ledger.lost == ["stuck"] and ledger.run_twice == ["twice"]
    assert ledger.not_succeeded[0]["reason"] == "the dome did not answer"
    assert ledger.duplicate_rows["exposures (batch, path, detector)"] == 0
    assert ledger.duplicate_rows["master_frames (path)"] == 1
    problems = "\n".join(ledger.problems())
    assert "1 orders lost" in problems and "ran a step twice" in problems
    assert "duplicate rows in master_frames (path)" in problems


def test_a_clean_ledger_has_no_problems() -> None:
    ledger = Ledger(nights=2, chaos_seed=5, dome_open_beyond_bound_s={"unsafe": 0.0})
    fault = {"night": 1, "at_s": 3.0, "kind": "redis", "target": "redis", "spec": {}}
    fault |= {"duration_s": 0.0, "applied": True, "recovery_s": 1.5, "error": None}
    ledger.faults = [fault]
    assert ledger.problems() == []
    assert any("recovered in 1.5 s" in line for line in ledger.lines())


def test_memory_that_keeps_growing_is_a_problem() -> None:
    ledger = Ledger(nights=3, chaos_seed=1)
    ledger.per_night = [
        {"night": n, "max_rss_mb": {"worker-processor": rss, "beat": 230.0}}
        for n, rss in ((1, 900.0), (2, 1100.0), (3, 1900.0))
    ]
    assert ledger.memory_growth() == [
        "worker-processor grew to 1900 MiB on night 3 (first two nights 1100 MiB)"
    ]
    assert ledger.memory_growth()[0] in ledger.problems()
    # Two nights set the level and judge nothing.
    ledger.per_night = ledger.per_night[:2]
    assert ledger.memory_growth() == []


def test_a_server_stop_is_read_with_its_mode_and_an_unstarted_server_is_a_problem() -> None:
    ledger = Ledger(nights=1, chaos_seed=5, database="postgresql (server /pg stopped and started)")
    fault = {"night": 1, "at_s": 7.0, "kind": "db_stop", "target": "postgres"}
    fault |= {"spec": {"mode": "immediate"}, "duration_s": 11.7, "applied": True}
    ledger.faults = [fault | {"recovery_s": 0.4, "error": None}]
    lines = ledger.lines()
    assert lines[0].endswith("; database postgresql (server /pg stopped and started)")
    assert any("db_stop postgres immediate: recovered in 0.4 s" in line for line in lines)
    ledger.faults = [fault | {"recovery_s": None, "error": "not undone: CalledProcessError"}]
    assert "1 faults without a recovery" in ledger.problems()[0]
