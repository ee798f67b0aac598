"""An order that wants the dome open during the supervisor's hold-off waits for the permit
(the real supervisor loop publishing it in SQLite, the simulator over HTTP) instead of
failing; any other refusal still fails at once."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from observatory.clock import simulated_clock, utc_now
from observatory.db.models import Heartbeat
from observatory.db.session import session_scope
from observatory.devices.dome import ShutterState
from observatory.orders.cancel import cancel_pk
from observatory.settings import Settings, SupervisorSettings
from observatory.supervisor import permit
from observatory.supervisor.loop import Supervisor
from observatory.supervisor.permit import OpeningRefused, read_permit
from observatory.telescope.observation import observe
from observatory.telescope.rig import TelescopeRig
from observatory.telescope.run import SequenceInterrupted
from tests.helpers import wait_for
from tests.unit.telescope.conftest import claimed_order, set_safe
from tests.unit.telescope.test_cancel import in_thread
from tests.unit.telescope.test_sequences import events, zenith
from tests.unit.test_intake import Broker

pytestmark = pytest.mark.timeout(120)

# A winter night at the site: the supervisor's dawn rule does not refuse.
NIGHT = dt.datetime(2026, 12, 6, 22, 0, tzinfo=dt.UTC)
PLAN = [{"filter": "L", "exposure_s": 1.0, "count": 1, "binning": 2}]


def supervised(settings: Settings, hold_off_s: float) -> Settings:
    """``settings`` with a supervisor expected (no workers' liveness watched, the civil
    clock at night and running at the wall clock's pace)."""
    supervisor = SupervisorSettings(
        enabled=True, hold_off_s=hold_off_s, poll_interval_s=0.2, live_workers=[]
    )
    return settings.model_copy(
        update={"supervisor": supervisor, "clock": simulated_clock(NIGHT, 1.0)}
    )


@contextmanager
def supervisor_running(settings: Settings) -> Iterator[None]:
    """The supervisor loop in a thread, from its first verdict until the block ends."""
    stop = threading.Event()
    thread = threading.Thread(target=Supervisor(settings).run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(
            lambda: "no safety supervisor" not in read_permit(settings).reason,
            10,
            message="the supervisor's first verdict",
        )
        yield
    finally:
        stop.set()
        thread.join(10)


def phase(settings: Settings) -> str:
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.get(Heartbeat, "telescope-worker")
        return "" if row is None else str(row.details.get("phase"))


def dome_events(settings: Settings, pk: int) -> list[str]:
    return [event for device, event in events(settings, pk) if device == "dome"]


def observation(settings: Settings, rig: TelescopeRig, broker: Broker) -> Any:
    return claimed_order(settings, broker, "observation", exposures=PLAN, **zenith(rig, settings))


@pytest.mark.slow
def test_an_order_in_the_hold_off_waits_then_opens_and_observes(settings: Settings) -> None:
    settings = supervised(settings, hold_off_s=3.0)
    rig = TelescopeRig.from_settings(settings)
    rig.dome.close_shutter()
    broker = Broker()
    with supervisor_running(settings):
        refusal = read_permit(settings)
        assert not refusal.allowed and refusal.retry_after_s is not None, refusal
        claimed = observation(settings, rig, broker)
        started_s = time.monotonic()
        outputs = observe(settings, claimed, rig, broker)
    assert time.monotonic() - started_s >= 2.0
    assert outputs["files"] == 1
    assert len(outputs["notes"]) == 1 and outputs["notes"][0].startswith("waited ")
    assert outputs["notes"][0].endswith(" s for the open permit (hold-off)")
    timeline = dome_events(settings, claimed.pk)
    assert timeline.index("open_permit_waited") < timeline.index("open_requested")
    assert "shutter_opened" in timeline and "shutter_closed" in timeline
    assert rig.dome.status().shutter is ShutterState.CLOSED


def test_a_cancel_while_waiting_ends_the_order_without_touching_the_dome(
    settings: Settings,
) -> None:
    settings = supervised(settings, hold_off_s=60.0)
    rig = TelescopeRig.from_settings(settings)
    rig.dome.close_shutter()
    broker = Broker()
    with supervisor_running(settings):
        claimed = observation(settings, rig, broker)
        thread, result = in_thread(lambda: observe(settings, claimed, rig, broker))
        waiting = wait_for(
            lambda: not thread.is_alive() or phase(settings).startswith("waiting for the open"),
            timeout=30,
            message="the wait for the permit",
        )
        assert thread.is_alive(), result
        assert waiting
        assert phase(settings).startswith("waiting for the open permit: hold-off, ")
        assert phase(settings).endswith(" s left")
        cancel_pk(settings, claimed.pk, by="night operator", reason="clouds coming")
        thread.join(15)
    assert not thread.is_alive()
    assert "error" not in result, result.get("error")
    assert result["outputs"]["cancelled"] == "cancelled by night operator: clouds coming"
    assert result["outputs"]["files"] == 0
    assert dome_events(settings, claimed.pk) == []
    assert rig.dome.status().shutter is ShutterState.CLOSED


def test_an_unsafe_refusal_still_fails_at_once(settings: Settings, simulator: Any) -> None:
    settings = supervised(settings, hold_off_s=60.0)
    rig = TelescopeRig.from_settings(settings)
    rig.dome.close_shutter()
    broker = Broker()
    claimed = observation(settings, rig, broker)
    # The supervisor's verdict while unsafe; the monitor is safe again when the order
    # starts (its own check passes), the permit still refuses.
    set_safe(simulator.address, False)
    Supervisor(settings).poll_once()
    set_safe(simulator.address, True)
    started_s = time.monotonic()
    with pytest.raises(
        SequenceInterrupted, match="refused by the safety supervisor: unsafe"
    ) as caught:
        observe(settings, claimed, rig, broker)
    assert time.monotonic() - started_s < 5.0
    # Machine-readably not a hold-off: nothing to wait for.
    cause = caught.value.__cause__
    assert isinstance(cause, OpeningRefused) and cause.retry_after_s is None
    assert dome_events(settings, claimed.pk) == []
    assert rig.dome.status().shutter is ShutterState.CLOSED


def test_a_refusal_turning_unsafe_ends_the_wait_at_once(settings: Settings, simulator: Any) -> None:
    settings = supervised(settings, hold_off_s=60.0)
    rig = TelescopeRig.from_settings(settings)
    rig.dome.close_shutter()
    broker = Broker()
    with supervisor_running(settings):
        claimed = observation(settings, rig, broker)
        thread, result = in_thread(lambda: observe(settings, claimed, rig, broker))
        wait_for(
            lambda: not thread.is_alive() or phase(settings).startswith("waiting for the open"),
            timeout=30,
            message="the wait for the permit",
        )
        assert thread.is_alive(), result
        set_safe(simulator.address, False)
        thread.join(15)
    assert not thread.is_alive()
    error = result.get("error")
    assert isinstance(error, SequenceInterrupted), result
    assert "refused by the safety supervisor: unsafe: safety monitor reports unsafe" in str(error)
    cause = error.__cause__
    assert isinstance(cause, OpeningRefused) and cause.retry_after_s is None
    assert dome_events(settings, claimed.pk) == []


def test_a_permit_that_never_comes_fails_after_the_hold_off_and_a_margin(
    settings: Settings,
) -> None:
    # The permit as the supervisor publishes it, stuck in a hold-off that should have ended
    # 0.5 s from now: the order waits that plus the permit's lifetime (1 s), then fails.
    settings = supervised(settings, hold_off_s=60.0)
    config = settings.supervisor.model_copy(update={"stale_after_s": 1.0})
    settings = settings.model_copy(update={"supervisor": config})
    rig = TelescopeRig.from_settings(settings)
    rig.dome.close_shutter()
    broker = Broker()
    until = utc_now(settings) + dt.timedelta(seconds=0.5)
    details = {
        "opening_allowed": False,
        "reason": f"hold-off: opening allowed from {until:%H:%M:%S} UTC",
        "hold_off_until": until.isoformat(),
    }
    stop = threading.Event()

    def publish_until_stopped() -> None:
        while not stop.wait(0.1):
            permit.publish(settings, details)

    permit.publish(settings, details)
    publisher = threading.Thread(target=publish_until_stopped, daemon=True)
    publisher.start()
    claimed = observation(settings, rig, broker)
    started_s = time.monotonic()
    try:
        with pytest.raises(SequenceInterrupted, match=r"hold-off.* \(waited \d s for the permit\)"):
            observe(settings, claimed, rig, broker)
    finally:
        stop.set()
        publisher.join(5)
    assert 1.3 < time.monotonic() - started_s < 5.0
    assert dome_events(settings, claimed.pk) == []
