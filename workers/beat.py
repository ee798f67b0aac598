"""Celery beat for routine imaging: the plan's entries as beat schedule entries.

``celery -A workers.app beat`` uses :class:`RoutineScheduler` (``beat_scheduler`` in
:mod:`workers.app`). It loads ``settings.routine_plan`` once at start (restart beat after
editing the plan; an invalid plan stops beat with a message naming the entry and field)
and adds one entry ``routine:<name>`` per enabled plan entry.

When an entry is due, beat itself submits its work order through the intake, with the
id ``routine-<entry>-<YYYYMMDDTHHMMSS>`` of the run, rather than sending a task for a
worker to do it: the telescope queue is busy for hours and the processor's may be, so a
submission task there could start long after its time, while beat is the one process
that runs exactly when runs are due. The submitted order is published like any other
and runs on its own queue.

Duplicates and downtime: a run submitted twice (a repeated tick, a second beat) is
stored once, because its id is the same. Beat keeps each entry's last run in its
schedule file; after downtime only the latest missed run is considered, and it is
skipped (and logged) when it is more than the plan's ``grace_s`` old, so there is no
burst of catch-up runs.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery.beat import PersistentScheduler, ScheduleEntry
from celery.schedules import BaseSchedule, schedstate

from observatory.clock import utc_now
from observatory.intake import Publisher
from observatory.routine.plan import RoutineEntry, RoutinePlan, load_plan
from observatory.routine.runs import submit_run
from observatory.routine.schedule import latest_run, next_run
from observatory.settings import Settings, get_settings

log = logging.getLogger("observatory.beat")

# Only a label in beat's log: beat submits these runs itself; no task has this name.
ROUTINE_TASK = "observatory.routine.submit"
ENTRY_PREFIX = "routine:"
# Beat re-checks a far entry at least this often (the clock may be stepped meanwhile).
MAX_CHECK_S = 300.0


def _utc(when: dt.datetime) -> dt.datetime:
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def _wall_s(settings: Settings, clock_s: float) -> float:
    """Wall-clock seconds in which ``clock_s`` seconds of the observatory's clock pass
    (a simulated night's clock runs ``clock.time_scale`` times faster)."""
    if settings.clock.start_utc is None:
        return clock_s
    return clock_s / settings.clock.time_scale


class RoutineSchedule(BaseSchedule):
    """The beat schedule of one plan entry (cron or Sun-relative, see routine.schedule)."""

    def __init__(self, entry: RoutineEntry, settings: Settings | None = None) -> None:
        # The observatory's civil clock, as the supervisor and the telescope read it: on a
        # simulated night (clock.start_utc) runs fall due on its Sun, not the wall's.
        super().__init__(nowfun=lambda: utc_now(self.settings))
        self.entry = entry
        self._settings = settings

    @property
    def settings(self) -> Settings:
        return self._settings or get_settings()

    def __reduce__(self) -> tuple[Any, ...]:
        # Beat pickles entries into its schedule file; the settings are read again on load.
        return (self.__class__, (self.entry,))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RoutineSchedule) and other.entry == self.entry

    def __hash__(self) -> int:
        return hash(self.entry.name)

    def __repr__(self) -> str:
        return f"<RoutineSchedule {self.entry.name}: {self.entry.cron or self.entry.at}>"

    def remaining_estimate(self, last_run_at: dt.datetime) -> dt.timedelta:
        now = self.now()
        upcoming = next_run(self.entry, self.settings, max(_utc(last_run_at), now))
        clock_s = (upcoming - now).total_seconds() if upcoming else MAX_CHECK_S
        return dt.timedelta(seconds=_wall_s(self.settings, clock_s))

    def is_due(self, last_run_at: dt.datetime) -> schedstate:
        """Due when a run time has come since ``last_run_at``; then the wall-clock seconds
        after which beat asks again."""
        now = self.now()
        latest = latest_run(self.entry, self.settings, now)
        due = latest is not None and latest > _utc(last_run_at)
        upcoming = next_run(self.entry, self.settings, now)
        wait_s = MAX_CHECK_S if upcoming is None else (upcoming - now).total_seconds()
        return schedstate(due, _wall_s(self.settings, max(0.0, min(wait_s, MAX_CHECK_S))))


def routine_schedule(plan: RoutinePlan) -> dict[str, dict[str, Any]]:
    """Beat schedule entries (``app.conf.beat_schedule`` form) of the enabled entries."""
    return {
        f"{ENTRY_PREFIX}{entry.name}": {
            "task": ROUTINE_TASK,
            "schedule": RoutineSchedule(entry),
            "args": (entry.name,),
        }
        for entry in plan.entries
        if entry.enabled
    }


class RoutineScheduler(PersistentScheduler):
    """PersistentScheduler that also runs the routine plan (see the module docstring)."""

    plan: RoutinePlan

    def setup_schedule(self) -> None:
        settings = get_settings()
        self.plan = load_plan(settings.routine_plan, settings)
        log.info(
            "routine plan %s: %d entries (%d enabled)",
            settings.routine_plan,
            len(self.plan.entries),
            sum(entry.enabled for entry in self.plan.entries),
        )
        self.app.conf.beat_schedule = {
            **(self.app.conf.beat_schedule or {}),
            **routine_schedule(self.plan),
        }
        super().setup_schedule()

    def apply_async(
        self, entry: ScheduleEntry, producer: Any = None, advance: bool = True, **kwargs: Any
    ) -> Any:
        if not isinstance(entry.schedule, RoutineSchedule):
            return super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        entry = self.reserve(entry) if advance else entry
        return submit_due_run(get_settings(), self.plan, entry.schedule.entry.name)


def submit_due_run(
    settings: Settings, plan: RoutinePlan, name: str, publish: Publisher | None = None
) -> Any:
    """Submit the latest run of plan entry ``name`` (or skip it when too late), on the
    observatory's clock; ``publish`` defaults to the Celery publisher of ``settings``."""
    from workers.publish import publisher_for  # the Celery publisher, only where beat runs

    entry = plan.entry(name)
    now = utc_now(settings)
    run_at = latest_run(entry, settings, now)
    if run_at is None:
        log.warning("routine %s: due, but no run time found before %s", name, now.isoformat())
        return None
    return submit_run(settings, plan, entry, run_at, now, publish or publisher_for(settings))
