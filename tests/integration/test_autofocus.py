"""Autofocus end to end: an ``autofocus`` order through the stack lands the simulator's
focuser within the critical focus zone of its true best position, at several
temperatures; a sweep that misses focus fails, says why and puts the focuser back."""

from __future__ import annotations

import json

import pytest
from alpaca.focuser import Focuser
from sqlalchemy import select

from observatory.db.models import FocusRun
from observatory.db.session import session_scope
from observatory.settings import Settings
from observatory.stack import Stack
from tests.integration.test_dome_orders import order, outcome, submit
from tests.integration.test_telescope_orders import zenith

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

# The simulator's optics: f/5 (0.53 m / 0.106 m), 4 um focuser steps, light at 0.55 um.
F_RATIO, STEP_UM, WAVELENGTH_UM = 0.53 / 0.106, 4.0, 0.55
CRITICAL_FOCUS_ZONE_STEPS = 4.88 * WAVELENGTH_UM * F_RATIO**2 / STEP_UM


def focuser(settings: Settings) -> Focuser:
    device = Focuser(settings.devices.focuser_address, 0)
    device.Connected = True
    return device


def truth(device: Focuser) -> dict:
    return json.loads(device.Action("simulator:state", ""))


def move(device: Focuser, position: int) -> None:
    device.Move(position)
    while device.IsMoving:
        pass


def focus_runs(settings: Settings, pk: int) -> list[FocusRun]:
    with session_scope(settings.sqlalchemy_url) as session:
        rows = list(session.scalars(select(FocusRun).where(FocusRun.work_order_pk == pk)))
        session.expunge_all()
    return rows


@pytest.mark.parametrize(("temperature_c", "start_offset_steps"), [(14.0, 70), (-2.0, -90)])
def test_autofocus_lands_within_the_critical_focus_zone(
    stack: Stack, temperature_c: float, start_offset_steps: int
) -> None:
    settings = stack.settings
    device = focuser(settings)
    device.Action("simulator:set_temperature", str(temperature_c))
    best = truth(device)["best_position_steps"]
    move(device, round(best + start_offset_steps))
    pk = submit(settings, order("autofocus", filter="L", exposure_s=3.0, **zenith(settings)))
    row = outcome(settings, pk, timeout=240)
    assert row.state == "succeeded", row.state_reason
    [run] = focus_runs(settings, pk)
    state = truth(device)
    error_steps = state["position_steps"] - state["best_position_steps"]
    assert abs(error_steps) <= CRITICAL_FOCUS_ZONE_STEPS / 2, (error_steps, run.fit)
    assert run.position_after == device.Position and run.reason is None
    assert run.temperature_c == pytest.approx(temperature_c, abs=0.2)
    assert len(run.hfd_px) == len(run.positions) == settings.focus.points


def test_a_sweep_that_misses_focus_fails_and_puts_the_focuser_back(stack: Stack) -> None:
    settings = stack.settings
    device = focuser(settings)
    best = truth(device)["best_position_steps"]
    start = round(best + 250)  # the whole sweep lies on one side of focus
    move(device, start)
    fields = {"filter": "L", "exposure_s": 3.0, "step": 20, **zenith(settings)}
    pk = submit(settings, order("autofocus", **fields))
    row = outcome(settings, pk, timeout=240)
    assert row.state == "failed"
    assert "end of the sweep" in (row.state_reason or "")
    [run] = focus_runs(settings, pk)
    assert run.best_position is None and "end of the sweep" in (run.reason or "")
    # (Selecting L may have moved it first, by the wheel's focus offsets.)
    assert device.Position == run.position_after == run.position_before


def test_a_change_of_filter_keeps_focus_and_a_refocus_waits_for_drift(stack: Stack) -> None:
    settings = stack.settings
    device = focuser(settings)
    device.Action("simulator:set_temperature", "8.0")
    move(device, round(truth(device)["best_position_steps"] - 60))
    fields = {"filter": "L", "exposure_s": 3.0, **zenith(settings)}
    assert (
        outcome(settings, submit(settings, order("autofocus", **fields)), 240).state == "succeeded"
    )
    plan = [{"filter": "Ha", "exposure_s": 1.0, "count": 1, "binning": 4}]
    pk = submit(settings, order("observation", exposures=plan, **zenith(settings)))
    assert outcome(settings, pk, timeout=120).state == "succeeded"
    state = truth(device)  # Ha focuses 30 steps inside L: the focuser followed
    assert (
        abs(state["position_steps"] - state["best_position_steps"]) <= CRITICAL_FOCUS_ZONE_STEPS / 2
    )
    refocus = submit(settings, order("autofocus", when_drift_k=2.0, **fields))
    row = outcome(settings, refocus, timeout=120)
    assert row.state == "succeeded" and focus_runs(settings, refocus) == []
