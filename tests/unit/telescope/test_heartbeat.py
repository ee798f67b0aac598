"""The heartbeat row: written at start, refreshed by the thread, idle at the end."""

from __future__ import annotations

import os
from pathlib import Path

from observatory.db.models import Heartbeat
from observatory.db.session import session_scope
from observatory.settings import Settings, TelescopeSettings
from observatory.telescope.heartbeat import HeartbeatWriter
from tests.helpers import wait_for


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
        assert first.details == {"work_order_pk": 42, "phase": "starting", "dome_open": None}
        assert first.pid == os.getpid()
        wait_for(lambda: read(settings).beat_at > first.beat_at, 5, message="a second beat")
        heartbeat.update(phase="exposing", dome_open=True)
        assert read(settings).details["phase"] == "exposing"
        assert read(settings).details["dome_open"] is True
    last = read(settings)
    assert last.details == {"work_order_pk": None, "phase": "idle", "dome_open": True}
