"""DomeAdapter decisions (what it sends, when it stops waiting) against a scripted dome."""

from __future__ import annotations

import time

import pytest

from observatory import dome_api
from observatory.devices.dome import DomeAdapter, DomeState, ShutterState
from observatory.errors import DeviceError, DeviceRefused, DeviceTimeout, InvalidTarget
from tests.unit.devices.alpaca_stub import AlpacaStub
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
    assert "last state: azimuth 0.00 deg, shutter opening" in message


def test_a_shutter_error_fails_at_once(stub: AlpacaStub) -> None:
    dome = DomeAdapter(fast_settings(stub.address, shutter_timeout_s=30))
    stub.on_put["closeshutter"] = lambda params: stub.values.update(shutterstatus=4)
    stub.values["shutterstatus"] = 0
    started = time.monotonic()
    with pytest.raises(DeviceError, match="shutter reports an error"):
        dome.close_shutter()
    assert time.monotonic() - started < 1.0


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
