"""Liveness beats through SQL, as the supervisor reads them, and the dome's last use."""

from __future__ import annotations

import datetime as dt
import os

from observatory.db.models import WorkOrderState
from observatory.intake import submit
from observatory.orders.lifecycle import claim, finish
from observatory.settings import Settings, SupervisorSettings
from observatory.supervisor import liveness
from observatory.supervisor.loop import Supervisor
from tests.helpers import wait_for
from tests.unit.test_intake import Broker, order


def settings_for(database_url: str, **supervisor: float) -> Settings:
    config = SupervisorSettings(**supervisor)
    return Settings.model_validate({"database_url": database_url, "supervisor": config})


def test_beats_are_read_by_queue_and_a_missing_one_is_none(database_url: str) -> None:
    settings = settings_for(database_url)
    at = dt.datetime(2026, 12, 6, 1, 0, tzinfo=dt.UTC)
    liveness.beat(settings, "telescope", at)
    assert liveness.last_beats(settings, ["dome", "telescope"]) == {"dome": None, "telescope": at}


def test_the_beat_thread_beats_and_a_clean_stop_ages_the_beat_at_once(database_url: str) -> None:
    settings = settings_for(database_url, liveness_interval_s=0.05)
    beat = liveness.LivenessBeat(settings, ["dome", "telescope"])
    beat.start()
    first = liveness.last_beats(settings, ["dome"])["dome"]
    assert first is not None
    wait_for(lambda: liveness.last_beats(settings, ["dome"])["dome"] != first, 5)
    beat.stop()
    stopped = liveness.last_beats(settings, ["dome", "telescope"])
    assert all(at is not None and at.year == 1970 for at in stopped.values())
    # A row another process took over is left alone.
    liveness.beat(settings, "dome")
    liveness.forget(settings, "dome", os.getpid() + 1)
    dome_at = liveness.last_beats(settings, ["dome"])["dome"]
    assert dome_at is not None and dome_at.year > 1970


def test_the_supervisor_reads_when_the_dome_was_last_used(database_url: str) -> None:
    settings = settings_for(database_url, idle_close_after_s=600.0)
    supervisor = Supervisor(settings)
    assert supervisor._read_use() == (None, False)
    receipt = submit(settings, order("dome_open"), Broker())
    claim(settings, receipt.pk)
    last_at, busy = supervisor._read_use()
    assert busy and last_at is not None
    finish(settings, receipt.pk, WorkOrderState.SUCCEEDED)
    last_at, busy = supervisor._read_use()
    assert not busy and last_at is not None
    assert abs((supervisor.clock() - last_at).total_seconds()) < 5.0
