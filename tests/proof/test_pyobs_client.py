"""The bundled simulator driven by a third-party Alpaca client: ``pyobs-alpaca``.

pyobs-alpaca talks HTTP to an Alpaca server by its own reading of the spec (aiohttp,
form-encoded PUTs without ClientID or ClientTransactionID, replies unpacked into tuples
of exactly the spec's keys, so an extra or missing key breaks it). It was written for
ASCOM Remote, where the server keeps devices connected and unparked: it never sets
``Connected`` nor calls ``Unpark``, so this test does both through alpyca first, as an
operator's connection tool would. It also takes the mount's ``Park`` to return once parked
(ITelescopeV3); ours starts the park and shows ``Slewing`` until ``AtPark`` (Platform 7's
asynchronous methods), so the test waits for that. What pyobs-alpaca commands is checked
through alpyca, a second client, so that neither client's reading alone decides.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from alpaca.dome import Dome, ShutterState
from alpaca.focuser import Focuser
from alpaca.telescope import Telescope

from observatory.simulator.server import SimulatorProcess, start_simulator_process
from tests.helpers import free_port, wait_for

pyobs_alpaca = pytest.importorskip(
    "pyobs_alpaca", reason="pyobs-alpaca comes with the test extra (make install)"
)

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorProcess]:
    with start_simulator_process(time_scale=20.0, discovery_port=free_port()) as process:
        yield process


def where(simulator: SimulatorProcess) -> dict[str, Any]:
    host, port = simulator.address.rsplit(":", 1)
    return {"server": host, "port": int(port), "device": 0}


def connected(device: Any) -> Any:
    device.Connected = True
    return device


def test_pyobs_opens_turns_and_closes_the_dome(simulator: SimulatorProcess) -> None:
    dome = connected(Dome(simulator.address, 0))

    async def drive() -> float:
        client = pyobs_alpaca.AlpacaDome(device_type="dome", **where(simulator))
        await client.open()
        assert client._device.connected, "pyobs-alpaca reads Connected as its alive check"
        await client.init()  # opens the shutter and waits for ShutterStatus 0
        assert dome.ShutterStatus == ShutterState.shutterOpen
        await client.move_altaz(30.0, 120.0)
        # pyobs-alpaca measures azimuth from the south (Baader's convention) and sends it so.
        sent_deg = float(client._adjust_azimuth(120.0))
        assert abs(dome.Azimuth - sent_deg) < 1.0, (dome.Azimuth, sent_deg)
        await client.park()  # CloseShutter, SlewToAzimuth 0, waits for ShutterStatus 1
        await client.close()
        return sent_deg

    asyncio.run(drive())
    assert dome.ShutterStatus == ShutterState.shutterClosed


def test_pyobs_slews_tracks_and_parks_the_mount(simulator: SimulatorProcess) -> None:
    mount = connected(Telescope(simulator.address, 0))
    if mount.AtPark:
        mount.Unpark()

    async def drive() -> None:
        client = pyobs_alpaca.AlpacaTelescope(device_type="telescope", **where(simulator))
        await client.open()
        await client._move_altaz(45.0, 100.0, asyncio.Event())
        assert (round(mount.Altitude, 2), round(mount.Azimuth, 2)) == (45.0, 100.0)
        assert not mount.Tracking
        # Above the horizon wherever the site is: the meridian, 10 deg from the zenith.
        ra_deg = mount.SiderealTime * 15.0 % 360.0
        dec_deg = mount.SiteLatitude - 10.0
        await client._move_radec(ra_deg, dec_deg, asyncio.Event())
        assert abs(mount.RightAscension * 15.0 - ra_deg) < 0.01
        assert abs(mount.Declination - dec_deg) < 0.01
        assert mount.Tracking
        await client.park()
        await client.close()

    asyncio.run(drive())
    wait_for(lambda: mount.AtPark, 30, 0.1, message="the mount parked")
    assert not mount.Slewing and not mount.Tracking


def test_pyobs_moves_the_focuser(simulator: SimulatorProcess) -> None:
    focuser = connected(Focuser(simulator.address, 0))
    step_um = float(focuser.StepSize)
    target_steps = min(focuser.MaxStep, focuser.Position + 400)

    async def drive() -> None:
        client = pyobs_alpaca.AlpacaFocuser(device_type="focuser", **where(simulator))
        await client.open()
        # pyobs-alpaca turns a focus in mm into steps as focus * StepSize * 1000.
        await client.set_focus(target_steps / (step_um * 1000.0))
        await client.close()

    asyncio.run(drive())
    assert abs(focuser.Position - target_steps) <= 10 and not focuser.IsMoving
