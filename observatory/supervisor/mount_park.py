"""Parking the mount from the supervisor, straight through the mount's Alpaca client."""

from __future__ import annotations

from alpaca.telescope import Telescope

from observatory.devices.alpaca_client import AlpacaClient
from observatory.settings import DeviceSettings

# Telescope interface version 4 is Platform 7 (asynchronous Connect).
TELESCOPE_PLATFORM7_VERSION = 4


class MountParker:
    """Parks the Alpaca telescope at ``devices.telescope_address``; connects on first use."""

    def __init__(self, devices: DeviceSettings, timeout_s: float) -> None:
        address, number = devices.telescope_address, devices.telescope_number
        self._mount = Telescope(address, number)
        self._client = AlpacaClient(
            self._mount, f"mount {number} at {address}", devices, TELESCOPE_PLATFORM7_VERSION
        )
        self.timeout_s = timeout_s

    def park(self) -> None:
        """Park the mount and wait until it reports parked and still; returns at once when
        it already is. Raises the adapter's device errors (:class:`DeviceTimeout` past
        ``timeout_s``, :class:`DeviceRefused` when it cannot park, ...)."""
        call, mount = self._client.call, self._mount
        if call("atpark", lambda: mount.AtPark):
            return
        call("park", mount.Park)
        self._client.wait_until(
            command="park",
            target="park position",
            read_state=lambda: (
                call("atpark", lambda: mount.AtPark),
                call("slewing", lambda: mount.Slewing),
            ),
            reached=lambda state: bool(state[0]) and not state[1],
            timeout_s=self.timeout_s,
        )
