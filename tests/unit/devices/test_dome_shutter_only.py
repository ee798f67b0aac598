"""Opening and closing need nothing but ShutterStatus: a roll-off roof (no azimuth, park or
home) and a dome with one unreadable member still open and close; a shutter whose state
is unknown is still sent CloseShutter; and a controller that still reports Error just
after the command is given a short grace before Error counts as failure."""

from __future__ import annotations

import time

import pytest

from observatory.devices.dome import SHUTTER_ERROR_GRACE_S, DomeAdapter, ShutterState
from observatory.errors import DeviceError, DeviceRefused
from tests.unit.devices.alpaca_stub import AlpacaStub, Reply
from tests.unit.devices.conftest import fast_settings

NOT_IMPLEMENTED = Reply(value=0.0, error_number=0x400, error_message="not on a roll-off roof")


def make_roof(stub: AlpacaStub) -> None:
    """The stub answers as a roll-off roof: 0x400 to Azimuth, AtPark and AtHome."""
    stub.values.update(cansetazimuth=False, canpark=False, canfindhome=False)
    for member in ("azimuth", "atpark", "athome"):
        stub.script(member, *[NOT_IMPLEMENTED] * 50)


def closes_the_shutter(stub: AlpacaStub) -> None:
    stub.on_put["closeshutter"] = lambda params: stub.values.update(shutterstatus=1)


def test_a_roof_reads_unknown_azimuth_park_and_home_without_asking(stub: AlpacaStub) -> None:
    make_roof(stub)
    stub.values["shutterstatus"] = 0
    state = DomeAdapter(fast_settings(stub.address)).status()
    assert (state.azimuth_deg, state.at_park, state.at_home) == (None, None, None)
    assert state.shutter is ShutterState.OPEN
    assert "azimuth unknown" in str(state) and "at park unknown" in str(state)
    assert stub.count("GET", "azimuth") == stub.count("GET", "atpark") == 0


def test_a_roof_opens_and_closes(stub: AlpacaStub) -> None:
    make_roof(stub)
    closes_the_shutter(stub)
    stub.on_put["openshutter"] = lambda params: stub.values.update(shutterstatus=0)
    dome = DomeAdapter(fast_settings(stub.address))
    assert dome.open_shutter() is ShutterState.OPEN
    assert dome.close_shutter() is ShutterState.CLOSED
    with pytest.raises(DeviceRefused, match="CanSetAzimuth is false"):
        dome.slew_to_azimuth(90.0)


def test_a_dome_whose_azimuth_cannot_be_read_still_closes(stub: AlpacaStub) -> None:
    del stub.values["azimuth"]  # answered with HTTP 400, for ever
    stub.values["shutterstatus"] = 0
    closes_the_shutter(stub)
    dome = DomeAdapter(fast_settings(stub.address))
    with pytest.raises(DeviceError, match="azimuth"):
        dome.status()
    assert dome.close_shutter() is ShutterState.CLOSED
    assert stub.count("PUT", "closeshutter") == 1


@pytest.mark.parametrize(
    ("unknown", "replies"),
    [
        (Reply(value=7), 1),
        (Reply(value=None), 1),
        (Reply(raw_body="[]"), 1),
        (Reply(http_status=500, raw_body="controller fault"), 3),  # transient: two retries
    ],
)
def test_an_unknown_shutter_is_sent_closeshutter_anyway(
    stub: AlpacaStub, unknown: Reply, replies: int
) -> None:
    stub.values["shutterstatus"] = 0
    closes_the_shutter(stub)
    stub.script("shutterstatus", *[unknown] * replies)  # the first read fails
    assert DomeAdapter(fast_settings(stub.address)).close_shutter() is ShutterState.CLOSED
    assert stub.count("PUT", "closeshutter") == 1


def test_an_error_read_just_after_the_command_is_not_yet_a_failure(stub: AlpacaStub) -> None:
    # The controller picks the command up on its next status poll, 0.5 s later.
    stub.values["shutterstatus"] = 4
    sent: list[float] = []
    stub.on_put["closeshutter"] = lambda params: sent.append(time.monotonic())

    def shutter_moves() -> None:
        since_s = time.monotonic() - sent[0] if sent else 0.0
        stub.values["shutterstatus"] = 4 if since_s < 0.5 else 3 if since_s < 1.0 else 1

    stub.after_get["shutterstatus"] = shutter_moves
    dome = DomeAdapter(fast_settings(stub.address, shutter_timeout_s=5.0))
    assert dome.close_shutter() is ShutterState.CLOSED
    assert stub.count("PUT", "closeshutter") == 1


def test_an_error_that_persists_past_the_grace_fails(stub: AlpacaStub) -> None:
    stub.values["shutterstatus"] = 4
    dome = DomeAdapter(fast_settings(stub.address, shutter_timeout_s=30.0))
    started_s = time.monotonic()
    with pytest.raises(DeviceError, match="closeshutter to shutter closed failed: the shutter"):
        dome.close_shutter()
    assert SHUTTER_ERROR_GRACE_S <= time.monotonic() - started_s < SHUTTER_ERROR_GRACE_S + 1.0
