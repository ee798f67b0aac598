"""N simulated nights back to back, with or without chaos, and their ledger.

Each night starts the embedded stack afresh on a simulated clock that reads the next
dusk (a week of nights is a week of dusks), on one data folder, database and Redis AOF
for all of them, and runs :func:`observatory.night.runner.run_night` with its report.
With a chaos seed, :mod:`observatory.chaos.schedule` draws each night's faults and
:mod:`observatory.chaos.inject` applies them; a :class:`~observatory.chaos.watch.Watch`
samples the dome and the processes throughout. The ledger (:mod:`observatory.chaos.ledger`)
closes the run.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import TextIO

from observatory.chaos.inject import FaultRecord, Injector
from observatory.chaos.ledger import Ledger, audit
from observatory.chaos.schedule import night_faults
from observatory.chaos.watch import Watch, WatchResult, survivors
from observatory.clock import night_of
from observatory.db.server import PostgresControl
from observatory.night.runner import NightResult, Submit, night_settings, run_night
from observatory.settings import Settings
from observatory.stack import Stack

# Faults are spread over this many wall seconds from the start of each night's orders.
CHAOS_SPAN_S = 150.0
# Settings of a chaos run: a killed worker's message comes back within two minutes (it
# must still outlast the longest task of a night, about 50 s on a busy 2-core machine, or
# a running task would be delivered twice: the ledger counts that); a jammed shutter is
# given up on in seconds rather than minutes.
CHAOS_VISIBILITY_TIMEOUT_S = 120.0
CHAOS_SHUTTER_TIMEOUT_S = 30.0
EMPTY_ROUTINE_PLAN = 'user = "routine"\n'


class ChaosHooks:
    """One night's faults and watch, started with the stack and ended before it stops."""

    with_beat = True

    def __init__(
        self, night: int, seed: int | None, postgres: PostgresControl | None = None
    ) -> None:
        self.night = night
        self.seed = seed
        self.postgres = postgres
        self.injector: Injector | None = None
        self.watch: Watch | None = None
        self.records: list[FaultRecord] = []
        self.watched = WatchResult()

    def started(self, stack: Stack) -> None:
        faults = []
        if self.seed is not None:
            database = database_fault_kind(stack.settings, self.postgres)
            faults = night_faults(self.seed, self.night, CHAOS_SPAN_S, database=database)
        self.injector = Injector(stack, faults, self.postgres)
        self.watch = Watch(stack, dome_bounds_s(stack.settings))
        self.watch.start()
        self.injector.start()

    def poll(self) -> None:
        return None

    def finishing(self, stack: Stack) -> None:
        if self.injector is not None:
            self.records = self.injector.stop(stack.check)
        if self.watch is not None:
            self.watched = self.watch.finish()


def database_fault_kind(settings: Settings, postgres: PostgresControl | None) -> str | None:
    """The database a run's faults are drawn for (see
    :func:`observatory.chaos.schedule.night_faults`): ``"sqlite"``, ``"postgres"`` when
    the run may stop and start the server, or None."""
    if settings.sqlalchemy_url.startswith("sqlite"):
        return "sqlite"
    return "postgres" if postgres is not None else None


def dome_bounds_s(settings: Settings) -> dict[str, float]:
    """Seconds the dome may stay open in each condition: the supervisor's reaction time
    (its poll, the close attempts' retries) plus the shutter's travel, and for a dead
    telescope worker the heartbeat timeout before that."""
    shutter_s = 8.0 / settings.clock.time_scale + settings.devices.poll_interval_s
    reaction_s = 2 * settings.supervisor.poll_interval_s + shutter_s + 5.0
    return {
        "unsafe": reaction_s,
        "past_dawn": reaction_s,
        "no_telescope_worker": settings.supervisor.heartbeat_timeout_s + reaction_s,
    }


def chaos_settings(settings: Settings) -> Settings:
    """``settings`` with what a run of nights needs: beat on an empty routine plan (beat is
    one of the processes killed, and must submit nothing of its own), and for chaos the
    shorter timeouts above."""
    plan = settings.data_dir / "chaos-routine.toml"
    plan.parent.mkdir(parents=True, exist_ok=True)
    plan.write_text(EMPTY_ROUTINE_PLAN, encoding="utf-8")
    devices = settings.devices.model_copy(update={"shutter_timeout_s": CHAOS_SHUTTER_TIMEOUT_S})
    return settings.model_copy(
        update={
            "routine_plan": plan,
            "visibility_timeout_s": CHAOS_VISIBILITY_TIMEOUT_S,
            "devices": devices,
        }
    )


def run_nights(
    settings: Settings,
    submit: Submit,
    nights: int,
    *,
    chaos_seed: int | None,
    time_scale: float,
    timeout_s: float,
    report: bool = True,
    out: TextIO = sys.stdout,
    postgres: PostgresControl | None = None,
) -> Ledger:
    """Run ``nights`` nights (see the module docstring), each with its night report unless
    ``report`` is false; returns the filled ledger. ``postgres``: the server of the
    settings' PostgreSQL database, stopped and started by the chaos faults."""
    ledger = Ledger(nights=nights, chaos_seed=chaos_seed)
    ledger.database = _database_label(settings, postgres, chaos_seed)
    base = chaos_settings(settings)
    started = time.monotonic()
    order_pks: set[int] = set()
    pids: set[tuple[int, float]] = set()
    worst: dict[str, float] = {}
    now_utc = dt.datetime.now(dt.UTC)
    for night in range(1, nights + 1):
        print(f"\n=== night {night} of {nights}" + (f" (chaos seed {chaos_seed})"
              if chaos_seed is not None else "") + " ===", file=out, flush=True)  # fmt: skip
        night_started = time.monotonic()
        night_started_utc = dt.datetime.now(dt.UTC)
        nightly = night_settings(base, time_scale, now_utc + dt.timedelta(days=night - 1))
        hooks = ChaosHooks(night, chaos_seed, postgres)
        result = run_night(nightly, submit, timeout_s=timeout_s, out=out, hooks=hooks)
        order_pks.update(o.pk for o in result.outcomes)
        if report:
            _report(nightly, (night_started_utc, dt.datetime.now(dt.UTC)), out)
        watched = hooks.watched
        pids |= watched.pids
        for condition, seconds in watched.open_beyond_bound_s.items():
            worst[condition] = worst.get(condition, 0.0) + seconds
        ledger.dome_bounds_s = dome_bounds_s(nightly)
        ledger.faults += [record.as_dict() for record in hooks.records]
        ledger.per_night.append(_night_figures(night, nightly, result, watched, night_started))
    ledger.elapsed_s = time.monotonic() - started
    ledger.dome_open_beyond_bound_s = worst
    ledger.processes_left = survivors(pids)
    audit(ledger, base.sqlalchemy_url, order_pks)
    return ledger


def _database_label(
    settings: Settings, postgres: PostgresControl | None, chaos_seed: int | None
) -> str:
    kind = database_fault_kind(settings, postgres)
    if kind == "sqlite":
        return "sqlite" + (" (locked by another process)" if chaos_seed is not None else "")
    if kind == "postgres":
        return f"postgresql (server {postgres.data_dir if postgres else ''} stopped and started)"
    return "postgresql (no database fault: the run was not given the server's data directory)"


def _night_figures(
    night: int, settings: Settings, result: NightResult, watched: WatchResult, started: float
) -> dict[str, object]:
    return {
        "night": night,
        "dusk_utc": settings.clock.start_utc,
        "elapsed_s": round(time.monotonic() - started, 1),
        "orders": len(result.outcomes),
        "succeeded": sum(o.state == "succeeded" for o in result.outcomes),
        "dome_open_s": round(watched.open_s, 1),
        "watch_samples": watched.samples,
        "watch_samples_unread": watched.unread_samples,
        "max_rss_mb": watched.max_rss_mb,
        "disk_mb": round(disk_used_mb(settings.data_dir), 1),
    }


def _report(settings: Settings, window: tuple[dt.datetime, dt.datetime], out: TextIO) -> None:
    """The report of one simulated night: its orders are those of its wall-clock
    ``window``, and it is filed under the simulated night's date (its batches' date)."""
    from observatory.report import build_report

    assert settings.clock.start_utc is not None, "a chaos night runs on a simulated clock"
    night = night_of(settings.clock.start_utc, settings.site.longitude_deg)
    path = build_report(settings, night, window=window)
    print(f"night report: {path}", file=out, flush=True)


def disk_used_mb(folder: Path) -> float:
    """Bytes under ``folder``, MiB (files only; what the nights wrote there)."""
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return total / 2**20
