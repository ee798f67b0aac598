"""The supervisor against a scripted Alpaca server on loopback (real HTTP): replies it
cannot understand count as unknown, hence unsafe, and close the dome; a dome whose
azimuth cannot be read is still closed; and a poll that fails unexpectedly closes the dome,
records and emails the failure, and is raised again, never swallowed."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select

from observatory.db.models import DeviceEvent
from observatory.db.session import session_scope
from observatory.settings import Settings
from observatory.supervisor import loop
from observatory.supervisor.loop import Supervisor
from tests.smtp import Mailbox, smtp_server  # noqa: F401  (fixture)
from tests.unit.devices.alpaca_stub import AlpacaStub, Reply
from tests.unit.devices.conftest import stub  # noqa: F401  (fixture)

ADMIN = "admin@observatory.test"


def stub_settings(server: AlpacaStub, database_url: str, **extra: Any) -> Settings:
    """Dome, safety monitor and mount all at the stub (which answers by member name)."""
    roles = ("dome", "safetymonitor", "telescope")
    devices: dict[str, Any] = {f"{role}_address": server.address for role in roles}
    devices |= {"poll_interval_s": 0.02, "retries": 0, "shutter_timeout_s": 5.0}
    return Settings.model_validate({"database_url": database_url, "devices": devices, **extra})


def open_dome(server: AlpacaStub) -> None:
    """An open dome that closes at once when told to, and a monitor saying safe."""
    server.values.update(shutterstatus=0, issafe=True)
    server.on_put["closeshutter"] = lambda params: server.values.update(shutterstatus=1)


def event_names(settings: Settings) -> list[str]:
    with session_scope(settings.sqlalchemy_url) as session:
        rows = session.scalars(select(DeviceEvent).where(DeviceEvent.device == "supervisor"))
        return [row.event for row in rows]


@pytest.mark.parametrize(
    "reply", [Reply(raw_body="[]"), Reply(raw_body="null"), Reply(value="false"), Reply(value=0)]
)
def test_a_safety_reply_not_understood_closes_the_dome(
    stub: AlpacaStub,  # noqa: F811
    database_url: str,
    reply: Reply,
) -> None:
    open_dome(stub)
    stub.script("issafe", reply, reply)
    supervisor = Supervisor(stub_settings(stub, database_url))
    decision = supervisor.poll_once()
    assert not decision.safe
    assert decision.unsafe_reason is not None
    assert decision.unsafe_reason.startswith("safety monitor error: safety monitor 0 at")
    assert "issafe: reply" in decision.unsafe_reason
    assert stub.count("PUT", "closeshutter") == 1
    assert stub.values["shutterstatus"] == 1


def test_a_dome_whose_azimuth_cannot_be_read_is_still_closed(
    stub: AlpacaStub,  # noqa: F811
    database_url: str,
) -> None:
    open_dome(stub)
    stub.values["issafe"] = False
    del stub.values["azimuth"]  # HTTP 400 for ever
    settings = stub_settings(stub, database_url)
    decision = Supervisor(settings).poll_once()
    assert decision.close
    assert stub.count("PUT", "closeshutter") == 1
    assert "closed_confirmed" in event_names(settings)


class BrokenSupervisor(Supervisor):
    """A supervisor with a bug in one reading (what no device reply can cause)."""

    def _read_heartbeats(self) -> dict[str, Any]:
        raise RuntimeError("a bug in the liveness reading")


def test_an_unexpected_poll_failure_closes_emails_and_is_raised(
    stub: AlpacaStub,  # noqa: F811
    database_url: str,
    smtp_server: tuple[str, int, Mailbox],  # noqa: F811
) -> None:
    host, port, mailbox = smtp_server
    open_dome(stub)
    settings = stub_settings(
        stub, database_url, admin_emails=[ADMIN], smtp={"host": host, "port": port}
    )
    before = len(mailbox.messages)
    with pytest.raises(RuntimeError, match="a bug in the liveness reading"):
        BrokenSupervisor(settings).run(threading.Event())
    assert stub.count("PUT", "closeshutter") == 1
    assert stub.values["shutterstatus"] == 1
    names = event_names(settings)
    assert names[:3] == ["poll_failed", "close_requested", "closed_confirmed"]
    assert names[-1] == "stopped"
    mail = mailbox.messages[before:]
    assert [m["Subject"].split("] ", 1)[1] for m in mail] == ["SAFETY SUPERVISOR STOPPED"]
    body = mail[0].get_payload()
    assert "RuntimeError: a bug in the liveness reading" in body
    assert "The dome was closed" in body
    assert "Traceback" in body


def test_a_dome_that_will_not_close_is_recorded_once_a_while_not_every_poll(
    stub: AlpacaStub,  # noqa: F811
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A dome controller that refuses to close, unattended: every poll tries again, but
    # after the first failure is recorded (and mailed) its attempts are not rows each.
    open_dome(stub)
    stub.values["issafe"] = False
    stub.on_put["closeshutter"] = lambda params: Reply(error_number=0x500, error_message="jam")
    settings = stub_settings(stub, database_url)
    supervisor = Supervisor(settings)
    supervisor.poll_once()
    first = event_names(settings)
    assert first.count("close_requested") == settings.supervisor.close_attempts
    assert first.count("close_failed") == 1
    for _ in range(4):
        supervisor.poll_once()
    attempts = settings.supervisor.close_attempts
    assert stub.count("PUT", "closeshutter") == 5 * attempts  # it never stops trying
    # Neither the closing nor the parking (a mount that cannot park) adds rows.
    assert event_names(settings) == first
    # Once the repeat interval has passed, one row says how many polls failed since.
    monkeypatch.setattr(loop, "REPEAT_EVERY_S", 0.0)
    supervisor.poll_once()
    with session_scope(settings.sqlalchemy_url) as session:
        rows = session.scalars(
            select(DeviceEvent).where(DeviceEvent.event == "close_failed").order_by(DeviceEvent.pk)
        ).all()
        assert [row.details["failed_polls"] for row in rows] == [1, 5]
    assert event_names(settings).count("park_failed") == 2
    # Repaired: the close is confirmed, and the failure is over.
    before = len(event_names(settings))
    open_dome(stub)
    stub.values["issafe"] = False
    supervisor.poll_once()
    repaired = event_names(settings)[before:]
    assert repaired[0] == "closed_confirmed"
    assert not supervisor._close_failures.ongoing


@pytest.mark.parametrize("can_park", [True, False])
def test_a_mount_without_a_park_position_stops_tracking_instead(
    stub: AlpacaStub,  # noqa: F811
    database_url: str,
    can_park: bool,
) -> None:
    open_dome(stub)
    stub.values.update(
        issafe=False, canpark=can_park, tracking=True, slewing=False, rightascension=5.0,
        declination=20.0, equatorialsystem=2, altitude=50.0, azimuth=120.0,
    )  # fmt: skip
    stub.on_put["park"] = lambda params: stub.values.update(atpark=True, tracking=False)
    settings = stub_settings(stub, database_url)
    supervisor = Supervisor(settings)
    supervisor.poll_once()
    supervisor.poll_once()
    names = event_names(settings)
    if can_park:
        assert stub.count("PUT", "park") == 1 and names.count("mount_parked") == 1
    else:
        # Park is not sent (it would fail at every poll); tracking stops, once.
        assert stub.count("PUT", "park") == 0 and "park_failed" not in names
        assert stub.count("PUT", "tracking") == 1 and stub.values["tracking"] is False
        assert names.count("mount_tracking_stopped") == 1
