"""DomeAdapter decisions (what it sends, when it stops waiting) against a scripted dome."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from observatory import dome_api
from observatory.devices.dome import SHUTTER_ERROR_GRACE_S, DomeAdapter, DomeState, ShutterState
from observatory.errors import DeviceError, DeviceRefused, DeviceTimeout, InvalidTarget
from tests.unit.devices.alpaca_stub import AlpacaStub, Reply
from tests.unit.devices.conftest import fast_settings

COMMANDS = ("openshutter", "closeshutter", "slewtoazimuth", "slewtoaltitude", "park", "findhome")


def commands_sent(stub: AlpacaStub) -> list[str]:
    return [member for method, member in stub.requests if member in COMMANDS]


def test_status_reads_every_field(stub: AlpacaStub) -> None:
    stub.values.update(azimuth=271.25, shutterstatus=2, atpark=True, slewing=True)
    state = DomeAdapter(fast_settings(stub.address)).status()
    assert state == DomeState(
        azimuth_deg=271.25,
        shutter=ShutterState.OPENING,
        at_park=True,
        at_home=False,
        slewing=True,
        connected=True,
        altitude_deg=None,
    )


def test_commands_that_are_already_done_send_nothing(stub: AlpacaStub) -> None:
    dome = DomeAdapter(fast_settings(stub.address))
    stub.values.update(azimuth=359.8, shutterstatus=1)
    dome.close_shutter()
    dome.slew_to_azimuth(0.2)  # 0.4 deg away across north: within the 1 deg tolerance
    stub.values.update(shutterstatus=0, atpark=True, athome=True)
    dome.open_shutter()
    dome.park()
    dome.find_home()
    assert commands_sent(stub) == []


def test_a_stuck_shutter_times_out_naming_command_target_and_state(stub: AlpacaStub) -> None:
    dome = DomeAdapter(fast_settings(stub.address, shutter_timeout_s=0.4))
    stub.on_put["openshutter"] = lambda params: stub.values.update(shutterstatus=2, slewing=True)
    started = time.monotonic()
    with pytest.raises(DeviceTimeout) as caught:
        dome.open_shutter()
    assert 0.4 <= time.monotonic() - started < 1.5
    message = str(caught.value)
    assert f"dome 0 at {stub.address} openshutter" in message
    assert "did not reach shutter open within 0.4 s" in message
    assert "last state: shutter opening" in message


def test_a_persisting_shutter_error_fails_after_the_grace_not_at_the_timeout(
    stub: AlpacaStub,
) -> None:
    dome = DomeAdapter(fast_settings(stub.address, shutter_timeout_s=30))
    stub.on_put["closeshutter"] = lambda params: stub.values.update(shutterstatus=4)
    stub.values["shutterstatus"] = 0
    started = time.monotonic()
    with pytest.raises(DeviceError, match="shutter reports an error"):
        dome.close_shutter()
    assert SHUTTER_ERROR_GRACE_S <= time.monotonic() - started < SHUTTER_ERROR_GRACE_S + 1.0


def test_a_slew_that_stops_short_fails_at_once(stub: AlpacaStub) -> None:
    dome = DomeAdapter(fast_settings(stub.address, dome_move_timeout_s=30))
    # The dome accepts the slew but ends up somewhere else (someone aborted it).
    stub.on_put["slewtoazimuth"] = lambda params: stub.values.update(azimuth=45.0)
    with pytest.raises(DeviceError, match=r"slew to azimuth 90 deg failed: .*stopped"):
        dome.slew_to_azimuth(90.0)
    assert commands_sent(stub) == ["slewtoazimuth"]


def test_slew_sends_the_azimuth_and_returns_the_arrived_state(stub: AlpacaStub) -> None:
    dome = DomeAdapter(fast_settings(stub.address))
    sent: list[str] = []

    def slew(params: dict[str, str]) -> None:
        sent.append(params["Azimuth"])
        stub.values.update(azimuth=float(params["Azimuth"]))

    stub.on_put["slewtoazimuth"] = slew
    assert dome.slew_to_azimuth(123.5).azimuth_deg == 123.5
    assert sent == ["123.5"]


def test_a_dome_arriving_between_reads_is_not_taken_for_stopped(stub: AlpacaStub) -> None:
    dome = DomeAdapter(fast_settings(stub.address))
    stub.on_put["slewtoazimuth"] = lambda params: stub.values.update(slewing=True, azimuth=80.0)
    # The dome arrives just after each azimuth read: a status that read the position
    # before Slewing would see "at rest at 80" and wrongly report a stop short of 90.
    stub.after_get["azimuth"] = lambda: stub.values.update(slewing=False, azimuth=90.0)
    assert dome.slew_to_azimuth(90.0).azimuth_deg == 90.0


def test_alt_az_slews_altitude_only_where_the_dome_can(stub: AlpacaStub) -> None:
    stub.on_put["slewtoazimuth"] = lambda p: stub.values.update(azimuth=float(p["Azimuth"]))
    stub.on_put["slewtoaltitude"] = lambda p: stub.values.update(altitude=float(p["Altitude"]))
    DomeAdapter(fast_settings(stub.address)).slew_to_alt_az(45.0, 200.0)
    assert commands_sent(stub) == ["slewtoazimuth"]
    stub.values["cansetaltitude"] = True
    state = DomeAdapter(fast_settings(stub.address)).slew_to_alt_az(30.0, 10.0)
    assert (state.altitude_deg, state.azimuth_deg) == (30.0, 10.0)
    assert commands_sent(stub) == ["slewtoazimuth", "slewtoaltitude", "slewtoazimuth"]


@pytest.mark.parametrize(
    ("flag", "call"),
    [
        ("cansetshutter", DomeAdapter.open_shutter),
        ("cansetazimuth", lambda dome: dome.slew_to_azimuth(10.0)),
        ("canpark", DomeAdapter.park),
        ("canfindhome", DomeAdapter.find_home),
    ],
)
def test_missing_capability_is_refused_before_sending(stub: AlpacaStub, flag: str, call) -> None:
    stub.values[flag] = False
    with pytest.raises(DeviceRefused, match=f"(?i){flag}"):
        call(DomeAdapter(fast_settings(stub.address)))
    assert commands_sent(stub) == []


@pytest.mark.parametrize("azimuth", [-0.1, 360.0, 720.0, float("nan"), float("inf"), "90", True])
def test_bad_azimuth_is_rejected_before_any_request(stub: AlpacaStub, azimuth: object) -> None:
    with pytest.raises(InvalidTarget, match="azimuth") as caught:
        DomeAdapter(fast_settings(stub.address)).slew_to_azimuth(azimuth)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError)
    assert repr(azimuth) in str(caught.value)
    assert stub.requests == []


@pytest.mark.parametrize("altitude", [-1.0, 90.5, float("nan")])
def test_bad_altitude_is_rejected_before_any_request(stub: AlpacaStub, altitude: float) -> None:
    with pytest.raises(InvalidTarget, match="altitude"):
        dome_api.GotoAltAz(altitude, 10.0, settings=fast_settings(stub.address))
    assert stub.requests == []


def test_dome_status_has_exactly_the_designed_keys(stub: AlpacaStub) -> None:
    stub.values.update(azimuth=12.5, shutterstatus=0, atpark=False)
    before = time.time()
    status = dome_api.DomeStatus(settings=fast_settings(stub.address))
    assert set(status) == {"azim", "open", "park", "connected", "time", "version"}
    assert status["azim"] == 12.5
    assert status["open"] is True
    assert status["park"] is False
    assert status["connected"] is True
    assert before <= status["time"] <= time.time()
    assert status["version"].startswith("v") and status["version"].count(".") == 2


def test_opening_is_not_open(stub: AlpacaStub) -> None:
    stub.values.update(shutterstatus=2)
    assert dome_api.dome_status(settings=fast_settings(stub.address))["open"] is False


def test_passing_both_a_dome_and_settings_is_a_type_error(stub: AlpacaStub) -> None:
    settings = fast_settings(stub.address)
    with pytest.raises(TypeError):
        dome_api.dome_status(DomeAdapter(settings), settings)


def settle_after(stub: AlpacaStub, reads: int) -> list[int]:
    """Keep the dome slewing for ``reads`` more reads of Slewing, then stop it; returns a
    list whose length counts the reads."""
    seen: list[int] = []

    def count_read() -> None:
        seen.append(1)
        if len(seen) >= reads:
            stub.values["slewing"] = False

    stub.after_get["slewing"] = count_read
    return seen


def test_a_dome_within_tolerance_but_still_slewing_has_not_arrived(stub: AlpacaStub) -> None:
    dome = DomeAdapter(fast_settings(stub.address, dome_move_timeout_s=5))
    # Already within the 1 deg tolerance of the target, but still moving: not there yet,
    # so the slew is sent, and the wait lasts until the dome reports it stopped.
    stub.values.update(azimuth=89.6, slewing=True)
    stub.on_put["slewtoazimuth"] = lambda params: stub.values.update(slewing=True)
    reads = settle_after(stub, 4)
    state = dome.slew_to_azimuth(90.0)
    assert commands_sent(stub) == ["slewtoazimuth"]
    assert not state.slewing and len(reads) >= 4


def test_a_dome_at_park_but_still_slewing_has_not_parked(stub: AlpacaStub) -> None:
    dome = DomeAdapter(fast_settings(stub.address, dome_move_timeout_s=5))
    stub.values.update(atpark=True, slewing=True)
    stub.on_put["park"] = lambda params: stub.values.update(atpark=True, slewing=True)
    reads = settle_after(stub, 4)
    state = dome.park()
    assert commands_sent(stub) == ["park"]
    assert state.at_park and not state.slewing and len(reads) >= 4


def test_a_dome_slewing_past_the_target_without_stopping_times_out(stub: AlpacaStub) -> None:
    dome = DomeAdapter(fast_settings(stub.address, dome_move_timeout_s=0.4))
    stub.on_put["slewtoazimuth"] = lambda params: stub.values.update(azimuth=90.2, slewing=True)
    with pytest.raises(DeviceTimeout, match="did not reach azimuth 90 deg"):
        dome.slew_to_azimuth(90.0)


def test_the_azimuth_tolerance_is_the_setting_and_inclusive(stub: AlpacaStub) -> None:
    dome = DomeAdapter(fast_settings(stub.address, dome_azimuth_tolerance_deg=2.0))
    stub.values.update(azimuth=92.0)
    dome.slew_to_azimuth(90.0)
    stub.values.update(azimuth=358.5)
    dome.slew_to_azimuth(0.5)
    assert commands_sent(stub) == []
    stub.on_put["slewtoazimuth"] = lambda p: stub.values.update(azimuth=float(p["Azimuth"]))
    stub.values.update(azimuth=92.1)
    dome.slew_to_azimuth(90.0)
    assert commands_sent(stub) == ["slewtoazimuth"]


def test_the_altitude_tolerance_is_the_setting_and_inclusive(stub: AlpacaStub) -> None:
    stub.values.update(cansetaltitude=True, azimuth=10.0, altitude=31.0)
    dome = DomeAdapter(fast_settings(stub.address, dome_altitude_tolerance_deg=1.0))
    dome.slew_to_alt_az(30.0, 10.0)
    assert commands_sent(stub) == []
    stub.on_put["slewtoaltitude"] = lambda p: stub.values.update(altitude=float(p["Altitude"]))
    stub.values.update(altitude=31.1)
    assert dome.slew_to_alt_az(30.0, 10.0).altitude_deg == 30.0
    assert commands_sent(stub) == ["slewtoaltitude", "slewtoazimuth"]


@pytest.mark.parametrize(
    ("flag", "call", "message"),
    [
        ("cansetshutter", DomeAdapter.open_shutter, "cannot move its shutter (CanSetShutter"),
        ("cansetazimuth", lambda d: d.slew_to_azimuth(10.0), "cannot turn in azimuth (CanSetAz"),
        ("cansetazimuth", lambda d: d.slew_to_alt_az(20.0, 10.0), "cannot turn in azimuth (CanSe"),
        ("canpark", DomeAdapter.park, "cannot park (CanPark is false)"),
        ("canfindhome", DomeAdapter.find_home, "cannot find home (CanFindHome is false)"),
    ],
)
def test_a_refusal_names_what_the_dome_cannot_do_and_its_flag(
    stub: AlpacaStub, flag: str, call, message: str
) -> None:
    stub.values[flag] = False
    with pytest.raises(DeviceRefused) as caught:
        call(DomeAdapter(fast_settings(stub.address)))
    assert f"dome 0 at {stub.address} {message}" in str(caught.value)


@pytest.mark.parametrize(
    ("member", "call"),
    [
        ("openshutter", DomeAdapter.open_shutter),
        ("closeshutter", DomeAdapter.close_shutter),
        ("slewtoazimuth", lambda d: d.slew_to_azimuth(10.0)),
        ("park", DomeAdapter.park),
        ("findhome", DomeAdapter.find_home),
        ("abortslew", DomeAdapter.abort),
    ],
)
def test_a_device_error_names_the_command_that_failed(stub: AlpacaStub, member: str, call) -> None:
    stub.values.update(shutterstatus=0 if member == "closeshutter" else 1)
    stub.script(member, Reply(error_number=0x40B, error_message="refused by the driver"))
    with pytest.raises(DeviceError) as caught:
        call(DomeAdapter(fast_settings(stub.address)))
    assert f"dome 0 at {stub.address} {member}" in str(caught.value)
    assert "refused by the driver" in str(caught.value)
    assert commands_sent(stub) == [member] or member == "abortslew"


@pytest.mark.parametrize(
    ("member", "call", "target"),
    [
        ("closeshutter", DomeAdapter.close_shutter, "shutter closed"),
        ("park", DomeAdapter.park, "park position"),
        ("findhome", DomeAdapter.find_home, "findhome position"),
    ],
)
def test_a_move_that_never_arrives_times_out_naming_command_and_target(
    stub: AlpacaStub, member: str, call, target: str
) -> None:
    stub.values.update(shutterstatus=0)
    # Accepted, and moving for ever.
    stub.on_put[member] = lambda params: stub.values.update(slewing=True, shutterstatus=3)
    settings = fast_settings(stub.address, shutter_timeout_s=0.3, dome_move_timeout_s=0.3)
    with pytest.raises(DeviceTimeout) as caught:
        call(DomeAdapter(settings))
    assert f"dome 0 at {stub.address} {member} did not reach {target} within 0.3 s" in str(
        caught.value
    )


def test_park_and_home_that_stop_short_fail_at_once_naming_why(stub: AlpacaStub) -> None:
    for member, call in (("park", DomeAdapter.park), ("findhome", DomeAdapter.find_home)):
        # Accepted, but at rest and not there: stopped by someone else.
        stub.on_put[member] = lambda params: stub.values.update(slewing=False)
        with pytest.raises(DeviceError) as caught:
            call(DomeAdapter(fast_settings(stub.address, dome_move_timeout_s=30)))
        assert f"{member} to {member} position failed: the dome stopped before reaching" in str(
            caught.value
        )


def test_a_shutter_error_is_named_as_such(stub: AlpacaStub) -> None:
    stub.on_put["openshutter"] = lambda params: stub.values.update(shutterstatus=4)
    stub.values["shutterstatus"] = 1
    with pytest.raises(DeviceError) as caught:
        DomeAdapter(fast_settings(stub.address, shutter_timeout_s=5)).open_shutter()
    assert "openshutter to shutter open failed: the shutter reports an error" in str(caught.value)


def test_abort_stops_the_dome_and_waits_until_it_no_longer_slews(stub: AlpacaStub) -> None:
    stub.values.update(slewing=True)
    stub.on_put["abortslew"] = lambda params: None
    reads = settle_after(stub, 3)
    state = DomeAdapter(fast_settings(stub.address, dome_move_timeout_s=5)).abort()
    assert not state.slewing and len(reads) >= 3
    assert [m for _, m in stub.requests if m == "abortslew"] == ["abortslew"]


def test_an_abort_that_does_not_stop_the_dome_times_out(stub: AlpacaStub) -> None:
    stub.values.update(slewing=True)
    stub.on_put["abortslew"] = lambda params: None
    with pytest.raises(DeviceTimeout) as caught:
        DomeAdapter(fast_settings(stub.address, dome_move_timeout_s=0.3)).abort()
    assert "abortslew did not reach slewing false within 0.3 s" in str(caught.value)


def test_a_state_names_its_altitude_only_when_the_dome_has_one() -> None:
    state = DomeState(12.0, ShutterState.OPEN, False, False, False, True, altitude_deg=None)
    assert "altitude" not in str(state)
    assert ", altitude 30.00 deg" in str(replace(state, altitude_deg=30.0))


def test_alt_az_waits_for_the_altitude_before_turning_in_azimuth(stub: AlpacaStub) -> None:
    # A dome that runs one slew at a time: a new slew drops the one under way (as the
    # alpaca-simulators dome does); the spec does not forbid it.
    pending: dict[str, float] = {}

    def begin(axis: str, value: str) -> None:
        pending.clear()
        pending[axis] = float(value)
        stub.values["slewing"] = True

    def finish() -> None:
        stub.values.update(pending, slewing=False)
        pending.clear()

    stub.values.update(cansetaltitude=True, altitude=45.0, azimuth=0.0)
    stub.on_put["slewtoaltitude"] = lambda p: begin("altitude", p["Altitude"])
    stub.on_put["slewtoazimuth"] = lambda p: begin("azimuth", p["Azimuth"])
    stub.after_get["slewing"] = finish
    state = DomeAdapter(fast_settings(stub.address)).slew_to_alt_az(74.0, 145.0)
    assert (state.altitude_deg, state.azimuth_deg) == (74.0, 145.0)
    assert commands_sent(stub) == ["slewtoaltitude", "slewtoazimuth"]
