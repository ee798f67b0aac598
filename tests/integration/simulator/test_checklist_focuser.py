"""Conformance checklist, Focuser (IFocuserV4), after ConformU's tests: capabilities,
Move and IsMoving, out-of-range moves, Halt, TempComp, Temperature, DeviceState. (A
focuser without compensation refusing TempComp: tests/unit/simulator/test_focuser.py.)

One simulator of its own at a high time scale.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import wait_for
from tests.integration.simulator.conftest import Api, open_checklist_simulator
from tests.integration.simulator.test_checklist_common import connect_all

pytestmark = pytest.mark.integration

FOCUSER = "focuser/0"
INVALID_VALUE = 0x401


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with open_checklist_simulator(tmp_path_factory.mktemp("checklist_focuser")) as simulator:
        client = Api(simulator)
        connect_all(client)
        yield client
        client.session.close()


def still(api: Api) -> None:
    wait_for(lambda: not api.value(f"{FOCUSER}/ismoving"), 10, 0.02, "focuser at rest")


def test_an_absolute_focuser_reports_its_range(api: Api) -> None:
    assert api.value(f"{FOCUSER}/absolute") is True
    max_step = api.value(f"{FOCUSER}/maxstep")
    assert isinstance(max_step, int) and max_step > 0
    assert 0 < api.value(f"{FOCUSER}/maxincrement") <= max_step
    assert api.value(f"{FOCUSER}/stepsize") > 0
    assert 0 <= api.value(f"{FOCUSER}/position") <= max_step


def test_move_is_asynchronous_and_arrives(api: Api) -> None:
    still(api)
    target = api.value(f"{FOCUSER}/position") + 20000  # 20 s at 1000 steps/s
    api.ok(f"{FOCUSER}/move", Position=str(target))
    assert api.value(f"{FOCUSER}/ismoving") is True  # Move returns at once
    still(api)
    assert api.value(f"{FOCUSER}/position") == target


@pytest.mark.parametrize("position", ["-1", "60001"])
def test_moves_outside_the_range_are_invalid_values(api: Api, position: str) -> None:
    still(api)
    before = api.value(f"{FOCUSER}/position")
    assert api.put(f"{FOCUSER}/move", Position=position)["ErrorNumber"] == INVALID_VALUE
    assert api.value(f"{FOCUSER}/position") == before and not api.value(f"{FOCUSER}/ismoving")


def test_halt_stops_a_move(api: Api) -> None:
    still(api)
    start = api.value(f"{FOCUSER}/position")
    api.ok(f"{FOCUSER}/move", Position=str(start - 20000))
    api.ok(f"{FOCUSER}/halt")
    still(api)
    assert start - 20000 < api.value(f"{FOCUSER}/position") <= start


def test_temperature_compensation_can_be_switched(api: Api) -> None:
    assert api.value(f"{FOCUSER}/tempcompavailable") is True
    api.ok(f"{FOCUSER}/tempcomp", TempComp="true")
    assert api.value(f"{FOCUSER}/tempcomp") is True
    api.ok(f"{FOCUSER}/tempcomp", TempComp="false")
    assert api.value(f"{FOCUSER}/tempcomp") is False


def test_temperature_and_device_state(api: Api) -> None:
    assert isinstance(api.value(f"{FOCUSER}/temperature"), float)
    names = {entry["Name"] for entry in api.value(f"{FOCUSER}/devicestate")}
    assert names == {"IsMoving", "Position", "Temperature", "TimeStamp"}
