"""Which devices this site has, as an operator reads it: each role's address, or that the
site has none (an optional device whose address the settings leave empty)."""

from __future__ import annotations

from observatory.settings import OPTIONAL_DEVICES, REQUIRED_DEVICES, DeviceSettings

# The operator's names for the settings' roles.
NOUNS = {
    "dome": "dome",
    "telescope": "mount",
    "camera": "camera",
    "safetymonitor": "safety monitor",
    "filterwheel": "filter wheel",
    "covercalibrator": "flat panel",
    "focuser": "focuser",
}


def device_lines(devices: DeviceSettings) -> list[str]:
    """One line per role: ``filter wheel 0 at 10.0.0.5:11111`` or
    ``filter wheel: none at this site``; the required roles first."""
    lines = []
    for role in (*REQUIRED_DEVICES, *OPTIONAL_DEVICES):
        address: str | None = getattr(devices, f"{role}_address")
        noun = NOUNS[role]
        if address is None:
            lines.append(f"{noun}: none at this site")
        else:
            lines.append(f"{noun} {getattr(devices, f'{role}_number')} at {address}")
    return lines
