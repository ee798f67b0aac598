"""The safety supervisor as a real process against the simulator over HTTP, with SQLite
and a real SMTP server, and no Redis anywhere: the broker URL points at a port where
nothing listens.

Each test starts its own simulator (time scale 50: the 8 s shutter takes 0.16 s) and
supervisor process, and prints the measured time to Closed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alpaca.dome import Dome
from alpaca.safetymonitor import SafetyMonitor
from sqlalchemy import select

from observatory.db.migrate import upgrade
from observatory.db.models import DeviceEvent
from observatory.db.session import dispose_engines, session_scope
from observatory.devices.dome import DomeAdapter, ShutterState
from observatory.devices.mount import MountAdapter
from observatory.errors import UnsafeConditions
from observatory.settings import Settings
from observatory.simulator.server import SimulatorProcess, start_simulator_process
from observatory.supervisor import liveness
from observatory.supervisor.permit import opening_allowed, require_opening_allowed
from tests.helpers import free_port, wait_for
from tests.smtp import smtp_server  # noqa: F401  (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

ADMIN = "admin@observatory.test"
POLL_S = 0.2
# What a close may take here: a poll, the readings, the shutter's 0.16 s and the
# adapter's confirmation, with room for two busy CPU cores.
CLOSE_BOUND_S = 5.0
# A monitor that stops answering costs two alpyca HTTP timeouts of 5 s (one retry)
# plus the 0.2 s backoff before the read counts as failed.
SILENT_MONITOR_BOUND_S = 2 * 5.0 + 0.2 + CLOSE_BOUND_S


@dataclass
class Rig:
    settings: Settings
    simulator: SimulatorProcess
    process: subprocess.Popen[bytes]
    log: Path

    def dome(self) -> DomeAdapter:
        return DomeAdapter(self.settings.devices)

    def shutter(self) -> ShutterState:
        return self.dome().status().shutter

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        with session_scope(self.settings.sqlalchemy_url) as session:
            rows = session.scalars(
                select(DeviceEvent)
                .where(DeviceEvent.device == "supervisor")
                .order_by(DeviceEvent.pk)
            )
            return [(row.event, dict(row.details)) for row in rows]

    def event_names(self) -> list[str]:
        return [name for name, _ in self.events()]

    def set_safe(self, safe: bool) -> None:
        monitor = SafetyMonitor(self.simulator.address, 0)
        monitor.Connected = True
        monitor.Action("simulator:set_safe", "true" if safe else "false")

    def monitor_fault(self, spec: dict[str, Any]) -> None:
        monitor = SafetyMonitor(self.simulator.address, 0)
        monitor.Connected = True
        monitor.Action("simulator:fault", json.dumps(spec))

    def dome_fault(self, spec: dict[str, Any]) -> None:
        dome = Dome(self.simulator.address, 0)
        dome.Connected = True
        dome.Action("simulator:fault", json.dumps(spec))

    def beat(self, at: dt.datetime | None = None) -> dt.datetime:
        """Write the telescope worker's liveness beat as it would."""
        beat_at = at or dt.datetime.now(dt.UTC)
        liveness.beat(self.settings, "telescope", beat_at)
        return beat_at

    def wait_allowed(self, timeout_s: float) -> None:
        wait_for(lambda: opening_allowed(self.settings)[0], timeout_s, message="the open permit")

    def open_dome(self) -> None:
        self.dome().open_shutter()
        assert self.shutter() is ShutterState.OPEN

    def time_to_closed(self, since_s: float, timeout_s: float, what: str) -> float:
        dome = self.dome()
        wait_for(
            lambda: dome.status().shutter is ShutterState.CLOSED, timeout_s, 0.05, "shutter closed"
        )
        elapsed_s = time.monotonic() - since_s
        print(f"\n{what}: dome Closed {elapsed_s:.2f} s after the trigger")
        return elapsed_s


def _dead_port() -> int:
    """A loopback port where nothing listens (checked again at the end of each test)."""
    return free_port()


def _nothing_listens(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _env(settings_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVATORY_")}
    env.update(settings_env)
    return env


@pytest.fixture
def start_rig(
    tmp_path: Path,
    smtp_server: tuple[str, int, Any],  # noqa: F811
) -> Iterator[Callable[..., Rig]]:
    """Start the simulator and the supervisor process with supervisor settings overridden
    by keyword (``hold_off_s=...``)."""
    started: list[Rig] = []
    broker_port = _dead_port()

    def start(**supervisor: float) -> Rig:
        simulator = start_simulator_process(host="127.0.0.1", port=0, time_scale=50)
        smtp_host, smtp_port, _ = smtp_server
        database_url = f"sqlite:///{tmp_path / 'observatory.db'}"
        values = {
            "OBSERVATORY_CONFIG": os.devnull,
            "OBSERVATORY_DATA_DIR": str(tmp_path),
            "OBSERVATORY_DATABASE_URL": database_url,
            "OBSERVATORY_BROKER_URL": f"redis://127.0.0.1:{broker_port}/0",
            "OBSERVATORY_ADMIN_EMAILS": ADMIN,
            "OBSERVATORY_SMTP__HOST": smtp_host,
            "OBSERVATORY_SMTP__PORT": str(smtp_port),
            "OBSERVATORY_SMTP__ATTEMPTS": "1",
            "OBSERVATORY_DEVICES__RETRIES": "1",
            "OBSERVATORY_DEVICES__RETRY_BACKOFF_S": "0.2",
            "OBSERVATORY_DEVICES__POLL_INTERVAL_S": "0.05",
            "OBSERVATORY_DEVICES__SHUTTER_TIMEOUT_S": "1.0",
            "OBSERVATORY_DEVICES__CONNECT_TIMEOUT_S": "5",
            "OBSERVATORY_TELESCOPE__SLEW_TIMEOUT_S": "10",
            # Explicit: the shared stack's fixture turns the supervisor off in this
            # process's environment, which Settings here would otherwise merge in.
            "OBSERVATORY_SUPERVISOR__ENABLED": "true",
            "OBSERVATORY_SUPERVISOR__POLL_INTERVAL_S": str(POLL_S),
            "OBSERVATORY_SUPERVISOR__STALE_AFTER_S": "3",
            "OBSERVATORY_SUPERVISOR__HOLD_OFF_S": "1",
            "OBSERVATORY_SUPERVISOR__HEARTBEAT_TIMEOUT_S": "600",
            # No dome worker runs here: the tests beat for the telescope worker alone.
            "OBSERVATORY_SUPERVISOR__LIVE_WORKERS": "telescope",
            "OBSERVATORY_SUPERVISOR__CLOSE_ATTEMPTS": "2",
            # Never dawn unless a test asks: the Sun never rises above 90 degrees.
            "OBSERVATORY_SUPERVISOR__DAWN_SUN_ALTITUDE_DEG": "90",
        }
        for role in ("DOME", "TELESCOPE", "SAFETYMONITOR"):
            values[f"OBSERVATORY_DEVICES__{role}_ADDRESS"] = simulator.address
        for key, value in supervisor.items():
            values[f"OBSERVATORY_SUPERVISOR__{key.upper()}"] = str(value)
        upgrade(database_url)
        settings = Settings.model_validate(_settings_values(values))
        log = tmp_path / "supervisor.log"
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "observatory.supervisor"],
                env=_env(values),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        rig = Rig(settings, simulator, process, log)
        started.append(rig)
        return rig

    try:
        yield start
    finally:
        for rig in started:
            _stop(rig)
            rig.simulator.stop()
            dispose_engines(rig.settings.sqlalchemy_url)
        # No Redis appeared on the broker port while the supervisor worked.
        assert _nothing_listens(broker_port)


def _settings_values(env: dict[str, str]) -> dict[str, Any]:
    """The environment above as nested Settings values, for this test process."""
    values: dict[str, Any] = {}
    for key, value in env.items():
        if key == "OBSERVATORY_CONFIG":
            continue
        path = key.removeprefix("OBSERVATORY_").lower().split("__")
        target = values
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    return values


def _stop(rig: Rig) -> None:
    if rig.process.poll() is None:
        rig.process.send_signal(signal.SIGTERM)
        try:
            rig.process.wait(20)
        except subprocess.TimeoutExpired:
            rig.process.kill()
            rig.process.wait()
    sys.stdout.write(rig.log.read_text(errors="replace")[-3000:])


def test_unsafe_monitor_closes_the_open_dome_and_parks_the_mount(
    start_rig: Callable[..., Rig],
) -> None:
    rig = start_rig()
    rig.beat()
    rig.wait_allowed(15)
    rig.open_dome()
    mount = MountAdapter(rig.settings.devices, rig.settings.telescope)
    mount.unpark()
    assert not mount.status().at_park

    rig.set_safe(False)
    elapsed_s = rig.time_to_closed(time.monotonic(), CLOSE_BOUND_S, "monitor unsafe")
    assert elapsed_s < CLOSE_BOUND_S
    wait_for(lambda: mount.status().at_park, 15, message="the mount parked")
    assert opening_allowed(rig.settings)[0] is False
    with pytest.raises(UnsafeConditions, match="unsafe"):
        require_opening_allowed(rig.settings)
    wait_for(lambda: "mount_parked" in rig.event_names(), 5, message="mount_parked recorded")
    names = rig.event_names()
    assert names.index("hold_off_started") < names.index("opening_allowed")
    assert names.index("opening_allowed") < names.index("unsafe")
    tail = names[names.index("unsafe") :]
    assert tail.index("close_requested") < tail.index("closed_confirmed")


@pytest.mark.slow  # fast: tests/unit/supervisor/test_decision.py
@pytest.mark.parametrize("how", ["error", "silent"])
def test_unreachable_monitor_closes_the_dome(start_rig: Callable[..., Rig], how: str) -> None:
    rig = start_rig()
    rig.beat()
    rig.wait_allowed(15)
    rig.open_dome()
    started_s = time.monotonic()
    if how == "error":
        rig.monitor_fault({"kind": "error", "member": "issafe", "message": "station offline"})
        bound_s = CLOSE_BOUND_S
    else:
        rig.monitor_fault({"kind": "slow", "delay_s": 60, "member": "issafe"})
        bound_s = SILENT_MONITOR_BOUND_S
    elapsed_s = rig.time_to_closed(started_s, bound_s + 5, f"monitor {how}")
    assert elapsed_s < bound_s
    unsafe = [details for name, details in rig.events() if name == "unsafe"]
    assert "safety monitor error" in unsafe[-1]["reason"]
    assert opening_allowed(rig.settings)[0] is False
    rig.monitor_fault({"kind": "clear"})


@pytest.mark.slow  # fast: tests/unit/supervisor/test_decision.py
def test_stale_heartbeat_closes_the_open_dome(start_rig: Callable[..., Rig]) -> None:
    rig = start_rig(heartbeat_timeout_s=2)
    rig.wait_allowed(15)
    beat_at = rig.beat()
    rig.open_dome()
    # The supervisor may act once the beat is heartbeat_timeout_s old.
    stale_in_s = 2.0 - (dt.datetime.now(dt.UTC) - beat_at).total_seconds()
    assert stale_in_s > 0, "opening took longer than the heartbeat timeout"
    trigger_s = time.monotonic() + stale_in_s
    elapsed_s = rig.time_to_closed(trigger_s, 2 + CLOSE_BOUND_S, "heartbeat stale")
    assert elapsed_s < CLOSE_BOUND_S
    lost = [details for name, details in rig.events() if name == "heartbeat_lost"]
    assert "telescope-worker heartbeat" in lost[0]["reason"]
    # A lost heartbeat closes an open dome but does not refuse opening.
    assert opening_allowed(rig.settings)[0] is True


@pytest.mark.slow  # fast: tests/unit/supervisor/test_decision.py
def test_opening_is_refused_while_unsafe_and_during_the_hold_off(
    start_rig: Callable[..., Rig],
) -> None:
    hold_off_s = 3.0
    rig = start_rig(hold_off_s=hold_off_s)
    wait_for(lambda: "hold_off_started" in rig.event_names(), 15, message="the hold-off")
    allowed, reason = opening_allowed(rig.settings)
    assert not allowed and reason.startswith("hold-off")
    rig.wait_allowed(hold_off_s + 5)

    rig.set_safe(False)
    wait_for(lambda: not opening_allowed(rig.settings)[0], 5, message="the refusal")
    assert opening_allowed(rig.settings)[1].startswith("unsafe")
    rig.set_safe(True)
    safe_s = time.monotonic()
    wait_for(lambda: opening_allowed(rig.settings)[1].startswith("hold-off"), 5, message="hold-off")
    with pytest.raises(UnsafeConditions, match="hold-off"):
        require_opening_allowed(rig.settings)
    rig.wait_allowed(hold_off_s + 5)
    held_s = time.monotonic() - safe_s
    print(f"\nopening allowed again {held_s:.2f} s after the monitor turned safe")
    assert hold_off_s - 0.1 <= held_s < hold_off_s + 3
    # The permit is published before the poll's events are written.
    wait_for(lambda: rig.event_names().count("opening_allowed") == 2, 5, message="2nd allowed")
    assert rig.event_names().count("hold_off_started") == 2


@pytest.mark.slow  # fast: tests/unit/supervisor/test_decision.py
def test_dawn_closes_and_refuses(start_rig: Callable[..., Rig]) -> None:
    rig = start_rig(dawn_sun_altitude_deg=-90)
    rig.beat()
    rig.open_dome()
    elapsed_s = rig.time_to_closed(time.monotonic(), 15, "dawn (from supervisor start)")
    assert elapsed_s < 15
    allowed, reason = opening_allowed(rig.settings)
    assert not allowed and reason.startswith("dawn")
    assert "dawn" in rig.event_names()


@pytest.mark.slow  # 6-12 s of real shutter retries; the repeats: tests/unit/supervisor
def test_stuck_shutter_is_retried_recorded_and_mailed(
    start_rig: Callable[..., Rig],
    smtp_server: tuple[str, int, Any],  # noqa: F811
) -> None:
    _, _, mailbox = smtp_server
    mails_before = len(mailbox.messages)
    rig = start_rig()
    rig.beat()
    rig.wait_allowed(15)
    rig.open_dome()
    rig.dome_fault({"kind": "stuck_shutter", "mode": "moving"})
    rig.set_safe(False)
    wait_for(lambda: "close_failed" in rig.event_names(), 20, message="close_failed")
    events = rig.events()
    attempts = [d["attempt"] for name, d in events if name == "close_requested"]
    assert attempts[:2] == [1, 2]
    failed = next(d for name, d in events if name == "close_failed")
    assert failed["attempts"] == 2 and "unsafe" in failed["reasons"][0]
    wait_for(lambda: len(mailbox.messages) > mails_before, 10, message="the admins' email")
    mail = mailbox.messages[mails_before]
    assert "DOME WILL NOT CLOSE" in mail["Subject"] and ADMIN in mail["To"]

    # Repaired, the dome closes on a later poll; the email was sent once.
    repaired_s = time.monotonic()
    rig.dome_fault({"kind": "clear"})
    rig.time_to_closed(repaired_s, 15, "after the shutter was repaired")
    wait_for(lambda: "closed_confirmed" in rig.event_names(), 5, message="closed_confirmed")
    assert len(mailbox.messages) == mails_before + 1
