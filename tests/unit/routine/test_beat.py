"""Beat's side of routine imaging: when an entry is due, one row per run however often it
is submitted, and no catch-up of runs missed while beat was down."""

from __future__ import annotations

import datetime as dt
import pickle
from typing import Any

import pytest
from sqlalchemy import select

from observatory.db.models import WorkOrder
from observatory.db.session import session_scope
from observatory.routine.plan import RoutinePlan, parse_plan
from observatory.routine.runs import submit_run
from workers.beat import RoutineSchedule, routine_schedule

HOURLY = {
    "name": "hourly-bias",
    "cron": "0 * * * *",
    "order": {"request": "calibration_frames", "bias_count": 3},
}


class Broker:
    def __init__(self) -> None:
        self.sent: list[int] = []

    def __call__(self, *, work_order_pk: int, task_name: str, queue: str, priority: float) -> str:
        self.sent.append(work_order_pk)
        return f"task-{len(self.sent)}"


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)  # type: ignore[misc]


@pytest.fixture
def plan() -> RoutinePlan:
    return parse_plan({"grace_s": 600, "entries": [HOURLY]})


@pytest.fixture
def settings(database_url: str, tmp_path) -> Any:
    from observatory.settings import Settings

    return Settings(database_url=database_url, data_dir=tmp_path)


def stored_ids(settings: Any) -> list[str]:
    with session_scope(settings.sqlalchemy_url) as session:
        return list(session.scalars(select(WorkOrder.order_id).order_by(WorkOrder.pk)))


def test_a_run_submitted_twice_is_stored_once(settings: Any, plan: RoutinePlan) -> None:
    broker = Broker()
    entry = plan.entries[0]
    run_at = utc(2026, 11, 23, 21, 0)
    first = submit_run(settings, plan, entry, run_at, run_at + dt.timedelta(seconds=2), broker)
    again = submit_run(settings, plan, entry, run_at, run_at + dt.timedelta(seconds=40), broker)
    assert first is not None and first.created and first.published
    assert again is not None and not again.created and again.pk == first.pk
    assert stored_ids(settings) == ["routine-hourly-bias-20261123T210000"]
    assert broker.sent == [first.pk]


def test_a_run_found_after_the_grace_is_skipped(settings: Any, plan: RoutinePlan) -> None:
    broker = Broker()
    run_at = utc(2026, 11, 23, 21, 0)
    late = run_at + dt.timedelta(seconds=601)
    assert submit_run(settings, plan, plan.entries[0], run_at, late, broker) is None
    assert stored_ids(settings) == [] and broker.sent == []


def schedule_at(plan: RoutinePlan, now: dt.datetime) -> RoutineSchedule:
    from observatory.settings import Settings

    schedule = RoutineSchedule(plan.entries[0], Settings())
    schedule.nowfun = lambda: now
    return schedule


def test_due_once_after_downtime_and_not_again(plan: RoutinePlan) -> None:
    # Beat was down from 18:10 to 21:20: three hourly runs passed. The entry is due once
    # (beat then records 21:20 as its last run), not three times.
    now = utc(2026, 11, 23, 21, 20)
    schedule = schedule_at(plan, now)
    due, next_check_s = schedule.is_due(utc(2026, 11, 23, 18, 10))
    assert due and next_check_s == 300.0  # 22:00 is 40 min away; re-checked every 5 min
    due_again, _ = schedule.is_due(now)
    assert not due_again


def test_not_due_before_the_next_run_and_due_on_it(plan: RoutinePlan) -> None:
    schedule = schedule_at(plan, utc(2026, 11, 23, 21, 59, 58))
    due, next_check_s = schedule.is_due(utc(2026, 11, 23, 21, 0, 1))
    assert not due and next_check_s == pytest.approx(2.0)
    schedule = schedule_at(plan, utc(2026, 11, 23, 22, 0, 0))
    assert schedule.is_due(utc(2026, 11, 23, 21, 0, 1))[0]


def test_only_the_latest_missed_run_is_considered_and_it_is_too_late(
    settings: Any, plan: RoutinePlan
) -> None:
    from observatory.routine.schedule import latest_run

    broker = Broker()
    now = utc(2026, 11, 23, 21, 20)
    run_at = latest_run(plan.entries[0], settings, now)
    assert run_at == utc(2026, 11, 23, 21, 0)
    assert submit_run(settings, plan, plan.entries[0], run_at, now, broker) is None
    assert stored_ids(settings) == []


def test_beat_entries_are_named_and_survive_the_schedule_file(plan: RoutinePlan) -> None:
    disabled = {**HOURLY, "name": "off", "enabled": False}
    both = parse_plan({"entries": [HOURLY, disabled]})
    entries = routine_schedule(both)
    assert list(entries) == ["routine:hourly-bias"]
    schedule = entries["routine:hourly-bias"]["schedule"]
    restored = pickle.loads(pickle.dumps(schedule))
    assert restored == schedule and restored.entry.cron == "0 * * * *"


YEARLY = {
    "name": "new-year",
    "cron": "0 0 1 1 *",
    "order": {"request": "calibration_frames", "bias_count": 3},
}


def simulated(settings: Any, start_utc: dt.datetime, time_scale: float) -> Any:
    """``settings`` on a simulated clock that reads ``start_utc`` now, as `observatory up`
    hands it to beat (clock.start_utc, epoch_unix_s, time_scale)."""
    from observatory.clock import simulated_clock

    return settings.model_copy(update={"clock": simulated_clock(start_utc, time_scale)})


def test_beat_runs_on_the_observatorys_clock_and_asks_again_in_wall_seconds(
    settings: Any,
) -> None:
    # Years away from the wall clock: on the wall's time the entry would not be due.
    plan = parse_plan({"entries": [YEARLY]})
    clocked = simulated(settings, utc(2031, 1, 1, 0, 0, 5), time_scale=20.0)
    schedule = RoutineSchedule(plan.entries[0], clocked)
    assert abs((schedule.now() - utc(2031, 1, 1, 0, 0, 5)).total_seconds()) < 60.0
    due, next_check_s = schedule.is_due(utc(2030, 6, 1))
    assert due
    assert next_check_s == pytest.approx(300.0 / 20.0)  # 5 min of the clock at x20
    # The next run, a year of the clock away, comes in a twentieth of it on the wall.
    remaining_s = schedule.remaining_estimate(utc(2031, 1, 1)).total_seconds()
    year_s = (utc(2032, 1, 1) - utc(2031, 1, 1, 0, 0, 5)).total_seconds()
    assert remaining_s == pytest.approx(year_s / 20.0, abs=60.0)


def test_a_due_run_is_submitted_at_the_observatorys_time(settings: Any) -> None:
    from workers.beat import submit_due_run

    plan = parse_plan({"grace_s": 600, "entries": [YEARLY]})
    clocked = simulated(settings, utc(2031, 1, 1, 0, 0, 5), time_scale=20.0)
    broker = Broker()
    receipt = submit_due_run(clocked, plan, "new-year", broker)
    assert receipt is not None and receipt.created
    assert stored_ids(settings) == ["routine-new-year-20310101T000000"]
