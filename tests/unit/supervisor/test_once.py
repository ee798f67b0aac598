"""``observatory supervise --once`` on a running stack and alone: the bundled simulator
over HTTP, SQLite, and where a test needs one a live supervisor loop (``Supervisor.run``
in a thread of this process, as ``observatory up`` runs it in a process of its own).

With a live supervisor publishing, a look leaves its permit and the event log alone and
says whose permit holds; it still closes an open dome it reads unsafe. With none, it is
one poll of the supervisor, publishing and recording as before.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alpaca.safetymonitor import SafetyMonitor
from sqlalchemy import select

from observatory.cli.main import main
from observatory.db.models import DeviceEvent, Heartbeat
from observatory.db.session import session_scope
from observatory.devices.dome import DomeAdapter, ShutterState
from observatory.settings import Settings, get_settings
from observatory.simulator.server import SimulatorProcess, start_simulator_process
from observatory.supervisor import liveness, permit
from observatory.supervisor.loop import Supervisor
from tests.helpers import clean_observatory_env, free_port, wait_for

# The live loop polls once at its start and then not again within a test: whatever the
# look does to the permit stays there to be seen.
LIVE_POLL_S = 10.0


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorProcess]:
    # Time scale 50: the 8 s shutter takes 0.16 s.
    with start_simulator_process(time_scale=50.0, discovery_port=free_port()) as process:
        yield process


@pytest.fixture
def settings(
    simulator: SimulatorProcess,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Settings]:
    """The settings ``observatory supervise --once`` reads (environment), at the simulator,
    with the dome closed, the monitor safe and both workers beating."""
    clean_observatory_env(monkeypatch)
    values = {
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path),
        "BROKER_URL": "redis://127.0.0.1:1/0",
        "DEVICES__RETRIES": "1",
        "DEVICES__RETRY_BACKOFF_S": "0.1",
        "DEVICES__POLL_INTERVAL_S": "0.05",
        "DEVICES__SHUTTER_TIMEOUT_S": "5",
        "SUPERVISOR__ENABLED": "true",
        "SUPERVISOR__POLL_INTERVAL_S": str(LIVE_POLL_S),
        "SUPERVISOR__HOLD_OFF_S": "300",
        # Never dawn: the Sun never rises above 90 degrees.
        "SUPERVISOR__DAWN_SUN_ALTITUDE_DEG": "90",
    }
    for role in ("DOME", "TELESCOPE", "SAFETYMONITOR"):
        values[f"DEVICES__{role}_ADDRESS"] = simulator.address
    for key, value in values.items():
        monkeypatch.setenv(f"OBSERVATORY_{key}", value)
    get_settings.cache_clear()
    settings = get_settings()
    set_safe(settings, True)
    DomeAdapter(settings.devices).close_shutter()
    for queue in settings.supervisor.live_workers:
        liveness.beat(settings, queue)
    yield settings
    get_settings.cache_clear()


def set_safe(settings: Settings, safe: bool) -> None:
    monitor = SafetyMonitor(settings.devices.safetymonitor_address, 0)
    monitor.Connected = True
    monitor.Action("simulator:set_safe", "true" if safe else "false")


@pytest.fixture
def live_supervisor(settings: Settings) -> Iterator[Callable[[], None]]:
    """Start a supervisor loop that is past its hold-off (``hold_off_s`` 0: it has been
    safe long enough) and wait for its permit to allow opening; stopped at the end."""
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start() -> None:
        config = settings.supervisor.model_copy(update={"hold_off_s": 0.0})
        supervisor = Supervisor(settings.model_copy(update={"supervisor": config}))
        thread = threading.Thread(target=supervisor.run, args=(stop,), daemon=True)
        thread.start()
        threads.append(thread)
        wait_for(lambda: permit.read_permit(settings).allowed, 10, 0.05, "the live permit")

    yield start
    stop.set()
    for thread in threads:
        thread.join(10)


def supervise_once(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """``observatory supervise --once`` as typed; its JSON verdict."""
    capsys.readouterr()
    assert main(["supervise", "--once"]) == 0
    return dict(json.loads(capsys.readouterr().out))


def events(settings: Settings) -> list[tuple[str, dict[str, Any]]]:
    with session_scope(settings.sqlalchemy_url) as session:
        rows = session.scalars(
            select(DeviceEvent).where(DeviceEvent.device == "supervisor").order_by(DeviceEvent.pk)
        )
        return [(row.event, dict(row.details)) for row in rows]


def permit_row(settings: Settings) -> tuple[Any, dict[str, Any]]:
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.get(Heartbeat, permit.PERMIT_ROW)
        assert row is not None
        return row.beat_at, dict(row.details)


def test_a_look_leaves_a_live_supervisors_permit_and_events_alone(
    settings: Settings,
    live_supervisor: Callable[[], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    live_supervisor()
    before = events(settings)
    published = permit_row(settings)

    verdict = supervise_once(capsys)

    assert permit.read_permit(settings).allowed, "the look took the open permit away"
    assert permit_row(settings) == published
    assert events(settings) == before
    assert verdict["published"] is False
    live = verdict["live_supervisor"]
    assert live["opening_allowed"] is True
    assert live["reason"].startswith("safe for the whole hold-off")
    assert 0 <= live["age_s"] < permit.permit_lifetime_s(settings)
    # Its own verdict, from a fresh memory, next to the live one's.
    assert verdict["safe"] is True and verdict["close_reasons"] == []
    assert verdict["opening_allowed"] is False and verdict["reason"].startswith("hold-off")


def test_a_look_that_reads_unsafe_still_closes_the_dome(
    settings: Settings,
    live_supervisor: Callable[[], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    live_supervisor()
    dome = DomeAdapter(settings.devices)
    assert dome.open_shutter() is ShutterState.OPEN
    set_safe(settings, False)
    before = len(events(settings))
    published = permit_row(settings)

    verdict = supervise_once(capsys)

    assert dome.shutter() is ShutterState.CLOSED
    assert verdict["safe"] is False
    assert verdict["close_reasons"][0].startswith("unsafe: safety monitor reports unsafe")
    assert verdict["published"] is False and verdict["live_supervisor"]["opening_allowed"]
    # The permit is still the live supervisor's (its next poll refuses); the close and the
    # park are recorded as the look's.
    assert permit_row(settings) == published
    recorded = events(settings)[before:]
    assert [name for name, _ in recorded] == ["close_requested", "closed_confirmed", "mount_parked"]
    assert all(details["by"] == "supervise --once" for _, details in recorded)


def test_with_no_live_supervisor_a_look_is_one_poll_and_publishes(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    verdict = supervise_once(capsys)

    assert verdict["published"] is True and verdict["live_supervisor"] is None
    assert verdict["opening_allowed"] is False and verdict["reason"].startswith("hold-off")
    refusal = permit.read_permit(settings)
    assert not refusal.allowed and refusal.reason.startswith("hold-off")
    assert [name for name, _ in events(settings)] == ["hold_off_started"]
    # Its permit is not taken for a live supervisor's: a second look (cron) publishes too.
    first_at, details = permit_row(settings)
    assert details["publisher"] == permit.PUBLISHER_SINGLE_POLL
    verdict = supervise_once(capsys)
    assert verdict["published"] is True and verdict["live_supervisor"] is None
    assert permit_row(settings)[0] > first_at


def test_a_stopped_supervisors_last_permit_is_not_a_live_one(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    stop = threading.Event()
    stop.set()
    Supervisor(settings).run(stop)  # publishes its refusal at the stop
    assert permit.live_supervisor(settings) is None
    verdict = supervise_once(capsys)
    assert verdict["published"] is True and verdict["live_supervisor"] is None
