"""The focuser: absolute moves that wait until the draw tube has arrived.

Only an absolute focuser (``Absolute`` true) is driven; a relative one is refused with a
clear error rather than guessed at. Without ``devices.focuser_address`` no adapter can be
made, so nothing is ever sent to a focuser the settings do not name.
"""

from __future__ import annotations

from functools import cached_property

from alpaca.focuser import Focuser

from observatory.devices.alpaca_client import open_device
from observatory.errors import ConfigurationError, DeviceError, DeviceRefused, InvalidTarget
from observatory.settings import DeviceSettings

# Focuser interface version 4 is Platform 7 (asynchronous Connect).
FOCUSER_PLATFORM7_VERSION = 4


class FocuserAdapter:
    """An Alpaca focuser at ``devices.focuser_address``, device ``focuser_number``.
    Moves time out after ``devices.focuser_move_timeout_s`` (:class:`DeviceTimeout`).
    Not thread-safe: one adapter per thread."""

    def __init__(self, devices: DeviceSettings) -> None:
        if devices.focuser_address is None:
            raise ConfigurationError("no focuser is configured (devices.focuser_address)")
        self.devices = devices
        self._focuser, self._client = open_device(
            devices, "focuser", Focuser, "focuser", FOCUSER_PLATFORM7_VERSION
        )

    @property
    def label(self) -> str:
        return self._client.label

    @cached_property
    def max_step(self) -> int:
        """The largest position (connects on first use); raises DeviceError for a
        relative focuser, which this adapter does not drive."""
        if not self._client.call("absolute", lambda: self._focuser.Absolute):
            raise DeviceError(f"{self.label} is a relative focuser; only absolute ones are driven")
        return int(self._client.call("maxstep", lambda: self._focuser.MaxStep))

    def position(self) -> int:
        return int(self._client.call("position", lambda: self._focuser.Position))

    def is_moving(self) -> bool:
        return bool(self._client.call("ismoving", lambda: self._focuser.IsMoving))

    def temperature_c(self) -> float | None:
        """The focuser's temperature sensor, or None when it has none."""
        try:
            return float(self._client.call("temperature", lambda: self._focuser.Temperature))
        except DeviceRefused:
            return None

    def move_to(self, position: int) -> int:
        """Move to the absolute ``position`` and wait until the move has ended; returns
        the position reached. :class:`InvalidTarget` outside 0..MaxStep."""
        if not 0 <= position <= self.max_step:
            raise InvalidTarget(f"focuser position {position} is outside 0..{self.max_step}")
        self._client.call("move", lambda: self._focuser.Move(position))
        self._client.wait_until(
            command="move",
            target=f"position {position}",
            read_state=self.is_moving,
            reached=lambda moving: not moving,
            timeout_s=self.devices.focuser_move_timeout_s,
        )
        return self.position()

    def halt(self) -> None:
        self._client.call("halt", self._focuser.Halt)
