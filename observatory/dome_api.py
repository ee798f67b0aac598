"""The dome's public Python API: plain functions for scripts, the CLI and the dome tasks.

Every command blocks until the dome has really arrived and then returns ``True``; it
never returns ``False``. When the dome cannot get there the typed error is raised:

- :class:`~observatory.errors.InvalidTarget` (a ``ValueError``) for an azimuth outside
  [0, 360) or an altitude outside [0, 90], naming the value, before anything is sent;
- :class:`~observatory.errors.DeviceTimeout` when the dome does not reach the target in
  time (the message names the command, the target and the last state seen);
- :class:`~observatory.errors.DeviceUnreachable` when the dome cannot be reached after
  the configured retries;
- :class:`~observatory.errors.DeviceRefused` when the dome refuses (lacks the
  capability, invalid value, ...), and :class:`~observatory.errors.DeviceError` for any
  other failure the dome reports.

Commands are absolute, so repeating one is harmless: closing a closed dome returns
``True`` at once. Each function takes an optional ``dome`` (a :class:`DomeAdapter`, to
reuse its connection) or ``settings`` (the device settings, to point at another address);
by default the process-wide settings are used. The PascalCase names (``DomeStatus``,
``SetAzim``, ...) are the original design's and call the snake_case functions.
"""

from __future__ import annotations

import time
from typing import Any

from observatory import __version__
from observatory.devices.dome import DomeAdapter, ShutterState
from observatory.settings import DeviceSettings


def dome_status(
    dome: DomeAdapter | None = None, settings: DeviceSettings | None = None
) -> dict[str, Any]:
    """The dome now: ``{"azim": deg, "open": bool, "park": bool, "connected": bool,
    "time": unix time of the reading, "version": "vX.Y.Z"}``.

    ``open`` is true only when the shutter is fully open (not while opening).
    """
    state = _dome(dome, settings).status()
    return {
        "azim": state.azimuth_deg,
        "open": state.shutter is ShutterState.OPEN,
        "park": state.at_park,
        "connected": state.connected,
        "time": time.time(),
        "version": f"v{__version__}",
    }


def set_azimuth(
    azimuth_deg: float, dome: DomeAdapter | None = None, settings: DeviceSettings | None = None
) -> bool:
    """Turn the dome to ``azimuth_deg`` in [0, 360); True once it is there."""
    _dome(dome, settings).slew_to_azimuth(azimuth_deg)
    return True


def open_dome(dome: DomeAdapter | None = None, settings: DeviceSettings | None = None) -> bool:
    """Open the shutter; True once it reports open."""
    _dome(dome, settings).open_shutter()
    return True


def close_dome(dome: DomeAdapter | None = None, settings: DeviceSettings | None = None) -> bool:
    """Close the shutter; True once it reports closed."""
    _dome(dome, settings).close_shutter()
    return True


def park_dome(dome: DomeAdapter | None = None, settings: DeviceSettings | None = None) -> bool:
    """Park the dome; True once it reports parked."""
    _dome(dome, settings).park()
    return True


def goto_alt_az(
    altitude_deg: float,
    azimuth_deg: float,
    dome: DomeAdapter | None = None,
    settings: DeviceSettings | None = None,
) -> bool:
    """Bring the slit to ``altitude_deg`` in [0, 90] and ``azimuth_deg`` in [0, 360);
    True once there. A dome without an altitude axis turns in azimuth only."""
    _dome(dome, settings).slew_to_alt_az(altitude_deg, azimuth_deg)
    return True


def _dome(dome: DomeAdapter | None, settings: DeviceSettings | None) -> DomeAdapter:
    if dome is not None and settings is not None:
        raise TypeError("pass a dome adapter or device settings, not both")
    return dome if dome is not None else DomeAdapter(settings)


# The original design's names, kept for scripts written against it.


def DomeStatus(
    dome: DomeAdapter | None = None, settings: DeviceSettings | None = None
) -> dict[str, Any]:
    """See :func:`dome_status`."""
    return dome_status(dome, settings)


def SetAzim(
    azim: float, dome: DomeAdapter | None = None, settings: DeviceSettings | None = None
) -> bool:
    """See :func:`set_azimuth`; ``azim`` in degrees."""
    return set_azimuth(azim, dome, settings)


def OpenDome(dome: DomeAdapter | None = None, settings: DeviceSettings | None = None) -> bool:
    """See :func:`open_dome`."""
    return open_dome(dome, settings)


def CloseDome(dome: DomeAdapter | None = None, settings: DeviceSettings | None = None) -> bool:
    """See :func:`close_dome`."""
    return close_dome(dome, settings)


def ParkPosition(dome: DomeAdapter | None = None, settings: DeviceSettings | None = None) -> bool:
    """See :func:`park_dome`."""
    return park_dome(dome, settings)


# The design notes spell it this way too.
ParkPostion = ParkPosition


def GotoAltAz(
    alt: float,
    az: float,
    dome: DomeAdapter | None = None,
    settings: DeviceSettings | None = None,
) -> bool:
    """See :func:`goto_alt_az`; ``alt`` and ``az`` in degrees."""
    return goto_alt_az(alt, az, dome, settings)
