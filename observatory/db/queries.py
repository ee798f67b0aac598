"""Query functions shared by the tasks, the CLI and the intake. Each takes an open session
(see :func:`observatory.db.session.session_scope`) and neither commits nor closes it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from observatory.db.models import (
    MasterFrame,
    StepRun,
    WorkOrder,
    WorkOrderState,
    master_group_key,
)
from observatory.db.types import utcnow
from observatory.errors import WorkOrderNotFound


def get_work_order(session: Session, pk: int) -> WorkOrder:
    """The work order with primary key ``pk``; raises ``WorkOrderNotFound``."""
    order = session.get(WorkOrder, pk)
    if order is None:
        raise WorkOrderNotFound(f"no work order with pk {pk}")
    return order


def find_work_order(session: Session, order_id: str, user: str) -> WorkOrder | None:
    """The work order a submitter knows as ``order_id``, or None."""
    return session.scalars(
        select(WorkOrder).where(WorkOrder.order_id == order_id, WorkOrder.user == user)
    ).one_or_none()


def work_orders_in_state(
    session: Session,
    states: Iterable[WorkOrderState | str],
    older_than: dt.datetime | None = None,
) -> list[WorkOrder]:
    """Work orders in any of ``states``, oldest received first.

    With ``older_than`` (an aware datetime), only those last updated before that instant,
    e.g. ``utcnow() - timedelta(seconds=30)`` to find orders stuck in ``received``.
    """
    query = select(WorkOrder).where(WorkOrder.state.in_([WorkOrderState(s) for s in states]))
    if older_than is not None:
        query = query.where(WorkOrder.updated_at < older_than)
    return list(session.scalars(query.order_by(WorkOrder.received_at, WorkOrder.pk)))


def step_runs_for(session: Session, work_order_pk: int) -> list[StepRun]:
    """Every step run of a work order, in the order they started."""
    return list(
        session.scalars(
            select(StepRun)
            .where(StepRun.work_order_pk == work_order_pk)
            .order_by(StepRun.started_at, StepRun.pk)
        )
    )


def latest_step_run(session: Session, work_order_pk: int, step: str) -> StepRun | None:
    """The highest attempt of ``step`` for a work order, or None if it never ran."""
    return session.scalars(
        select(StepRun)
        .where(StepRun.work_order_pk == work_order_pk, StepRun.step == step)
        .order_by(StepRun.attempt.desc(), StepRun.pk.desc())
        .limit(1)
    ).one_or_none()


def upsert_master_frame(session: Session, **values: Any) -> MasterFrame:
    """Insert a master frame, or replace the one of the same batch and group.

    ``values`` are MasterFrame column values (``kind``, ``file_batch_pk``, ``filter``,
    ``exptime_s``, ``binning``, ``detector``, ``camera_setup``, ``naxis1``, ``naxis2``,
    ``path``, ``n_inputs``, ``inputs``, ``stats``, ``method``, ``date_obs``, optionally
    ``is_bad``); ``group_key``
    is derived. One atomic statement, so a step re-run (even a concurrent one) leaves one
    row per group, with the newest values and the original pk. Masters without a batch
    (``file_batch_pk`` None) are always inserted. Returns the row, refreshed.
    """
    if "group_key" in values or "pk" in values:
        raise ValueError("group_key and pk are derived, not given")
    columns = inspect(MasterFrame).columns
    unknown = set(values) - set(columns.keys())
    if unknown:
        raise ValueError(f"not MasterFrame columns: {sorted(unknown)}")
    row = {"binning": 1, "detector": "", "camera_setup": "", "is_bad": False, "stats": {},
           "created_at": utcnow(), **values}  # fmt: skip
    row["group_key"] = master_group_key(
        row["kind"], row.get("filter"), row.get("exptime_s"), row["binning"], row["detector"],
        row["camera_setup"],
    )  # fmt: skip
    insert = _dialect_insert(session)(MasterFrame).values(**row)
    replaced = {name: insert.excluded[name] for name in row if name != "created_at"}
    statement = insert.on_conflict_do_update(
        index_elements=["file_batch_pk", "group_key", "naxis1", "naxis2"], set_=replaced
    ).returning(MasterFrame)
    frame: MasterFrame = session.scalars(
        statement, execution_options={"populate_existing": True}
    ).one()
    return frame


def _dialect_insert(session: Session) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"upsert_master_frame supports SQLite and PostgreSQL, not {name}")
