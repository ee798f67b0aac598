"""A batch's orders are found by the indexed batch name recorded at receipt: one stored
order with a malformed url never breaks the resume of another batch."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from observatory.db.models import StepRun, StepState, WorkOrder, WorkOrderState
from observatory.db.session import session_scope
from observatory.errors import ObservatoryError
from observatory.intake import submit
from observatory.processor.driver import steps_to_run
from observatory.processor.pipeline import earlier_runs
from observatory.settings import Settings
from tests.unit.test_intake import Broker, order


def resume_point(settings: Settings, batch: str, exclude_pk: int) -> tuple[str, str | None]:
    """The batch's url and the step a resume of it starts at (None: nothing to do)."""
    url, earlier = earlier_runs(settings, batch, exclude_pk)
    steps = steps_to_run("resume_file_batch", earlier)
    return url, steps[0] if steps else None


def store_malformed(settings: Settings, payload: dict[str, object]) -> None:
    """An order stored without intake's checks (before them, or by another program)."""
    now = dt.datetime.now(dt.UTC)
    with session_scope(settings.sqlalchemy_url) as session:
        session.add(WorkOrder(
            order_id=f"bad-{len(payload)}", user="legacy", request="calibrate_file_batch",
            payload=payload, state=WorkOrderState.FAILED, received_at=now, updated_at=now,
        ))  # fmt: skip


def test_a_malformed_order_does_not_break_another_batchs_resume(settings: Settings) -> None:
    url = str(settings.batches_dir / "20261123-observation-7")
    Path(url).mkdir(parents=True)  # intake refuses a folder not here
    calibrate = submit(settings, order("calibrate_file_batch", "c1", url=url), Broker())
    store_malformed(settings, {"url": "http://example.org"})  # no path segment
    store_malformed(settings, {"no": "url", "at": "all"})
    with session_scope(settings.sqlalchemy_url) as session:
        session.add(
            StepRun(
                work_order_pk=calibrate.pk,
                step="transfer",
                attempt=1,
                state=StepState.SUCCEEDED,
                started_at=dt.datetime.now(dt.UTC),
            )
        )
    resume = submit(
        settings, order("resume_file_batch", "r1", batch="20261123-observation-7"), Broker()
    )
    assert resume_point(settings, "20261123-observation-7", exclude_pk=resume.pk) == (
        url,
        "ingest",
    )


def test_the_latest_calibrate_order_of_the_batch_is_the_one_resumed(settings: Settings) -> None:
    first = str(settings.batches_dir / "20261123-observation-8")
    other = str(settings.data_dir / "moved" / "20261123-observation-8")
    for folder in (first, other, first + "-b"):  # intake refuses a folder not here
        Path(folder).mkdir(parents=True)
    submit(settings, order("calibrate_file_batch", "c1", url=first), Broker())
    submit(settings, order("calibrate_file_batch", "c2", url=other), Broker())
    submit(settings, order("calibrate_file_batch", "c3", url=first + "-b"), Broker())
    assert resume_point(settings, "20261123-observation-8", exclude_pk=0) == (other, "transfer")
    with pytest.raises(ObservatoryError, match="no calibrate_file_batch order names batch"):
        resume_point(settings, "20261123-observation-9", exclude_pk=0)
