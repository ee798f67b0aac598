"""The simulated mount over HTTP: a Park is a slew that can be stopped, and the mount is
parked (0x408 for motion) only once it has arrived."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from observatory.simulator.server import start_simulator_process
from tests.helpers import wait_for

PARKED, INVALID_OPERATION = 0x408, 0x40B
# Slews of 75 degrees take 12.5 simulated seconds, 0.5 s of wall time: long enough to act
# on a park under way (a request takes milliseconds), short enough for a quick test.
MOUNT = """
time_scale = 25.0

[discovery]
enabled = false

[site]
latitude_deg = 45.0

[telescope]
connect_delay_s = 0.0
slew_rate_deg_s = 6.0
"""


class Mount:
    """Raw Alpaca requests to ``telescope/0``."""

    def __init__(self, base_url: str) -> None:
        self.url = f"{base_url}/api/v1/telescope/0"

    def get(self, member: str) -> Any:
        reply = requests.get(f"{self.url}/{member}", timeout=5).json()
        assert reply["ErrorNumber"] == 0, reply
        return reply["Value"]

    def put(self, member: str, **form: Any) -> int:
        """The ErrorNumber of the PUT."""
        response = requests.put(f"{self.url}/{member}", data=form, timeout=5)
        assert response.status_code == 200, response.text
        return int(response.json()["ErrorNumber"])

    def ok(self, member: str, **form: Any) -> None:
        assert self.put(member, **form) == 0, member

    def wait_still(self) -> None:
        wait_for(lambda: not self.get("slewing"), timeout=10, interval=0.05, message="the mount")


@pytest.fixture(scope="module")
def simulator_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config_path: Path = tmp_path_factory.mktemp("simulator") / "simulator.toml"
    config_path.write_text(MOUNT)
    with start_simulator_process(config_path=config_path) as simulator:
        yield simulator.base_url


@pytest.fixture
def mount(simulator_url: str) -> Mount:
    """Connected, unparked, not tracking, at rest 75 degrees from its park position."""
    mount = Mount(simulator_url)
    mount.ok("connected", Connected="true")
    mount.ok("unpark")
    mount.ok("abortslew")
    mount.ok("tracking", Tracking="false")
    mount.ok("slewtoaltazasync", Azimuth="180", Altitude="60")
    mount.wait_still()
    return mount


def test_abort_slew_stops_a_park_under_way_and_leaves_the_mount_unparked(mount: Mount) -> None:
    mount.ok("park")
    assert mount.get("slewing") is True
    assert mount.get("atpark") is False
    assert mount.put("abortslew") == 0
    assert mount.get("slewing") is False
    assert mount.get("atpark") is False
    # Not parked: motion is accepted again.
    mount.ok("slewtoaltazasync", Azimuth="180", Altitude="60")
    mount.wait_still()
    assert mount.get("atpark") is False


def test_a_park_completes_and_only_then_refuses_motion(mount: Mount) -> None:
    mount.ok("park")
    assert mount.put("tracking", Tracking="true") == INVALID_OPERATION  # parking, not parked
    mount.ok("park")  # repeating a park under way is harmless
    mount.wait_still()
    assert mount.get("atpark") is True
    assert mount.put("abortslew") == PARKED
    assert mount.put("slewtoaltazasync", Azimuth="180", Altitude="60") == PARKED
    assert mount.put("tracking", Tracking="true") == PARKED


def test_another_slew_replaces_a_park_under_way(mount: Mount) -> None:
    mount.ok("park")
    assert mount.put("slewtoaltazasync", Azimuth="90", Altitude="50") == 0
    mount.wait_still()
    assert mount.get("atpark") is False
    assert abs(mount.get("altitude") - 50.0) < 0.1
