"""A safety monitor (ISafetyMonitorV3) whose verdict tests set.

``IsSafe`` starts at the ``safe`` setting and changes only through the Action
``simulator:set_safe`` with the parameter ``"true"`` or ``"false"``. As ISafetyMonitor
requires, ``IsSafe`` reads False (not NotConnected) while the device is disconnected.
"""

from __future__ import annotations

from typing import Any

from observatory.simulator.devices.base import Device, DeviceSettings, action, get
from observatory.simulator.errors import InvalidValue


class SafetyMonitorSettings(DeviceSettings):
    safe: bool = True


class SafetyMonitor(Device):
    device_type = "safetymonitor"
    default_name = "Simulated Safety Monitor"
    default_description = "Weather and power safety monitor"
    settings_model = SafetyMonitorSettings
    device_state_members = (("IsSafe", "issafe"),)
    answers_disconnected = frozenset({"issafe"})
    settings: SafetyMonitorSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.is_safe: bool = self.settings.safe

    @get("issafe")
    def get_is_safe(self) -> bool:
        """False while disconnected: a client must never read "safe" from a dead link."""
        return self.is_safe and self.connected

    @action("simulator:set_safe")
    def action_set_safe(self, parameters: str) -> str:
        """Parameter ``true`` or ``false`` (any case); returns the new verdict."""
        text = parameters.strip().lower()
        if text not in ("true", "false"):
            raise InvalidValue(f"simulator:set_safe expects true or false, got {parameters!r}")
        self.is_safe = text == "true"
        return "true" if self.is_safe else "false"

    def ground_truth(self) -> dict[str, Any]:
        return {**super().ground_truth(), "is_safe": self.is_safe}
