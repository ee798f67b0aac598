"""The heartbeat row: written at start, refreshed by the thread, idle at the end."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from observatory.db.models import Heartbeat
from observatory.db.session import session_scope
from observatory.intake import submit
from observatory.settings import Settings, TelescopeSettings
from observatory.telescope.heartbeat import DomeSlaved, HeartbeatWriter, require_dome_not_slaved
from tests.helpers import wait_for
from tests.unit.test_intake import Broker, order


def read(settings: Settings) -> Heartbeat:
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.get_one(Heartbeat, "telescope-worker")
        session.expunge(row)
        return row


def test_beats_while_running_and_says_idle_after(sqlite_url: str, tmp_path: Path) -> None:
    settings = Settings(
        database_url=sqlite_url,
        data_dir=tmp_path,
        telescope=TelescopeSettings(heartbeat_interval_s=0.05),
    )
    with HeartbeatWriter(settings, work_order_pk=42) as heartbeat:
        first = read(settings)
        assert first.details == {
            "work_order_pk": 42,
            "phase": "starting",
            "dome_open": None,
            "dome_slaved": False,
        }
        assert first.pid == os.getpid()
        wait_for(lambda: read(settings).beat_at > first.beat_at, 5, message="a second beat")
        heartbeat.update(phase="exposing", dome_open=True)
        assert read(settings).details["phase"] == "exposing"
        assert read(settings).details["dome_open"] is True
    last = read(settings)
    assert last.details == {
        "work_order_pk": None,
        "phase": "idle",
        "dome_open": True,
        "dome_slaved": False,
    }


def test_dome_turns_are_refused_only_while_a_live_order_slaves_the_dome(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=sqlite_url, data_dir=tmp_path)
    require_dome_not_slaved(settings)  # no telescope worker ever beat
    with HeartbeatWriter(settings, work_order_pk=7) as heartbeat:
        require_dome_not_slaved(settings)  # running, but the slit is not kept on the mount
        heartbeat.update(dome_slaved=True)
        with pytest.raises(DomeSlaved, match="telescope work order pk 7"):  # no such row
            require_dome_not_slaved(settings)
        # A beat older than the supervisor's bound is a dead worker's: not a holder.
        later = read(settings).beat_at.replace(tzinfo=dt.UTC) + dt.timedelta(
            seconds=settings.supervisor.heartbeat_timeout_s + 1
        )
        require_dome_not_slaved(settings, now=later)
    require_dome_not_slaved(settings)  # the order ended


def test_the_refusal_names_the_order_as_observatory_cancel_takes_it(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=sqlite_url, data_dir=tmp_path)
    fields = {"ra": 10.7, "dec": 41.3}
    receipt = submit(settings, order("observation", "routine-m31", user="beat", **fields), Broker())
    with HeartbeatWriter(settings, work_order_pk=receipt.pk) as heartbeat:
        heartbeat.update(dome_slaved=True)
        with pytest.raises(DomeSlaved) as raised:
            require_dome_not_slaved(settings)
    message = str(raised.value)
    assert "telescope work order 'routine-m31' (user 'beat'" in message, message
    assert "(observatory cancel routine-m31 --user beat)" in message, message
    assert f"order {receipt.pk} " not in message


def test_an_update_is_never_overwritten_by_an_older_beat(sqlite_url: str, tmp_path: Path) -> None:
    # The background thread beats without pause: a beat that took the details before an
    # update and wrote them after it would leave the row with the older details.
    settings = Settings(
        database_url=sqlite_url,
        data_dir=tmp_path,
        telescope=TelescopeSettings(heartbeat_interval_s=0.0005),
    )
    with HeartbeatWriter(settings, work_order_pk=42) as heartbeat:
        for step in range(150):
            heartbeat.update(phase=f"frame {step}", dome_slaved=step % 2 == 0)
            details = read(settings).details
            assert (details["phase"], details["dome_slaved"]) == (f"frame {step}", step % 2 == 0)
