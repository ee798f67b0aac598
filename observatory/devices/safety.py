"""The safety monitor: one verdict, safe or not, from weather and power sensors.

Unknown counts as unsafe: :meth:`SafetyMonitorAdapter.require_safe` refuses when the
monitor says unsafe and also when it cannot be read.
"""

from __future__ import annotations

from alpaca.safetymonitor import SafetyMonitor

from observatory.devices.alpaca_client import open_device
from observatory.errors import DeviceError, UnsafeConditions
from observatory.settings import DeviceSettings, get_settings

# SafetyMonitor interface version 3 is Platform 7 (asynchronous Connect).
SAFETY_MONITOR_PLATFORM7_VERSION = 3


class SafetyMonitorAdapter:
    """An Alpaca safety monitor at ``settings.safetymonitor_address``, device
    ``safetymonitor_number``; ``settings`` defaults to the process-wide device settings.
    Connects on first use. Not thread-safe: one adapter per thread."""

    def __init__(self, settings: DeviceSettings | None = None) -> None:
        self.settings = settings if settings is not None else get_settings().devices
        self._monitor, self._client = open_device(
            self.settings,
            "safetymonitor",
            SafetyMonitor,
            "safety monitor",
            SAFETY_MONITOR_PLATFORM7_VERSION,
        )

    def is_safe(self) -> bool:
        """The monitor's verdict now: only a JSON ``true`` is safe. Raises the device errors
        of the adapter (:class:`DeviceUnreachable`, :class:`DeviceTimeout`, ...) when it
        cannot be read, and :class:`DeviceError` when IsSafe is not a JSON boolean
        (``"false"``, ``0``, ``null``...): a verdict not understood is unknown, never safe."""
        return self._client.read("issafe", lambda: self._monitor.IsSafe, bool)

    def require_safe(self) -> None:
        """Return when conditions are safe; raise :class:`UnsafeConditions` when the monitor
        says unsafe or cannot be read (the device error is chained as the cause)."""
        try:
            safe = self.is_safe()
        except DeviceError as error:
            raise UnsafeConditions(f"conditions unknown, taken as unsafe: {error}") from error
        if not safe:
            raise UnsafeConditions(f"{self._client.label} reports unsafe conditions")
