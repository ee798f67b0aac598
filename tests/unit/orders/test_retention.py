"""The safety supervisor's old device_events rows are pruned; nothing an order recorded is."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from observatory.db.models import DeviceEvent
from observatory.db.session import session_scope
from observatory.db.types import utcnow
from observatory.intake import submit
from observatory.orders import retention
from observatory.orders.retention import EventPruner, prune_supervisor_events
from observatory.settings import PROJECT_ROOT, RetentionSettings, Settings
from observatory.supervisor import events
from observatory.telescope.events import record_device_event
from tests.helpers import env_settings
from tests.unit.test_intake import Broker, order

OLD = dt.timedelta(days=91)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path)


def write_events(settings: Settings) -> None:
    """Five old supervisor events as a dome that will not close leaves them, one new, an
    old dome event, and an old supervisor event that an order recorded."""
    pk = submit(settings, order("dome_open", "kept"), Broker()).pk
    for attempt in range(5):
        events.record(settings, "close_requested", {"attempt": attempt})
    record_device_event(settings, "dome", "shutter_opened", None)
    record_device_event(settings, "supervisor", "opening_refused", pk)
    with session_scope(settings.sqlalchemy_url) as session:
        session.execute(update(DeviceEvent).values(at=utcnow() - OLD))
    events.record(settings, "unsafe", {"reason": "rain"})


def kept(settings: Settings) -> list[tuple[str, str]]:
    with session_scope(settings.sqlalchemy_url) as session:
        rows = session.execute(
            select(DeviceEvent.device, DeviceEvent.event).order_by(DeviceEvent.pk)
        )
        return [(device, event) for device, event in rows]


REMAINING = [
    ("dome", "shutter_opened"),
    ("supervisor", "opening_refused"),
    ("supervisor", "unsafe"),
]


def test_only_the_supervisors_events_past_the_retention_are_deleted(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_events(settings)
    monkeypatch.setattr(retention, "PRUNE_BATCH", 2)  # three transactions of two at most
    assert prune_supervisor_events(settings) == 5
    assert kept(settings) == REMAINING
    assert prune_supervisor_events(settings) == 0


def test_the_retention_is_a_setting(settings: Settings) -> None:
    write_events(settings)
    longer = settings.model_copy(
        update={"retention": RetentionSettings(supervisor_events_days=OLD.days + 1)}
    )
    assert prune_supervisor_events(longer) == 0
    with pytest.raises(ValueError, match="greater than 0"):
        RetentionSettings(supervisor_events_days=0)


def test_the_pruner_prunes_at_most_once_per_interval(settings: Settings) -> None:
    write_events(settings)
    pruner = EventPruner(settings, every_s=3600.0)
    assert pruner.poll() == 5
    events.record(settings, "close_requested", {"attempt": 9})
    with session_scope(settings.sqlalchemy_url) as session:
        session.execute(update(DeviceEvent).values(at=utcnow() - OLD))
    assert pruner.poll() is None  # within the hour: left for the next pass


@pytest.fixture
def cli_settings(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> Iterator[Any]:
    yield from env_settings(monkeypatch, database_url, tmp_path)


def test_the_reconciler_process_prunes(cli_settings: Settings) -> None:
    write_events(cli_settings)
    done = subprocess.run(
        [sys.executable, "-m", "workers.reconciler", "--once"],
        cwd=PROJECT_ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert kept(cli_settings) == REMAINING
