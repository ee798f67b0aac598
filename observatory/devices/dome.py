"""The dome: a shutter plus an azimuth (and, where the dome has one, an altitude) pointing.

:class:`DomeAdapter` drives an ASCOM Alpaca dome through alpyca. Every command is
absolute and safe to repeat (closing a closed dome returns at once), blocks until the
dome reports the commanded state, and raises :class:`~observatory.errors.DeviceTimeout`
when it does not get there in time. Angles are degrees; azimuth runs from north through
east, in [0, 360).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from alpaca.dome import Dome

from observatory.devices.alpaca_client import open_device
from observatory.devices.angles import angular_distance_deg, check_altitude_deg, check_azimuth_deg
from observatory.errors import DeviceRefused
from observatory.settings import DeviceSettings, get_settings

# Dome interface version 3 is Platform 7: asynchronous Connect, Slewing covers the shutter.
DOME_PLATFORM7_VERSION = 3


class ShutterState(enum.Enum):
    """The shutter (or roof); values are ASCOM's ShutterStatus numbers."""

    OPEN = 0
    CLOSED = 1
    OPENING = 2
    CLOSING = 3
    ERROR = 4


@dataclass(frozen=True)
class DomeState:
    """One reading of the dome. ``altitude_deg`` is None when the dome cannot set one."""

    azimuth_deg: float
    shutter: ShutterState
    at_park: bool
    at_home: bool
    slewing: bool
    connected: bool
    altitude_deg: float | None = None

    def __str__(self) -> str:
        altitude = "" if self.altitude_deg is None else f", altitude {self.altitude_deg:.2f} deg"
        return (
            f"azimuth {self.azimuth_deg:.2f} deg{altitude}, shutter {self.shutter.name.lower()},"
            f" slewing {self.slewing}, at park {self.at_park}, at home {self.at_home},"
            f" connected {self.connected}"
        )


@dataclass(frozen=True)
class DomeCapabilities:
    """What the dome can do, read once after connecting (ASCOM's Can* flags)."""

    can_set_shutter: bool
    can_set_azimuth: bool
    can_set_altitude: bool
    can_park: bool
    can_find_home: bool


class DomeAdapter:
    """An Alpaca dome, reached at ``settings.dome_address`` as device ``dome_number``.

    ``settings`` defaults to the process-wide device settings. The adapter connects on
    first use. Each command returns the :class:`DomeState` that completed it and raises
    :class:`DeviceTimeout` past its timeout (``shutter_timeout_s``,
    ``dome_move_timeout_s``), :class:`DeviceRefused` when the dome lacks the capability
    or refuses, :class:`DeviceUnreachable` when it cannot be reached after the retries,
    :class:`DeviceError` when it stops short of the target or reports a shutter error,
    and :class:`InvalidTarget` (a ``ValueError``) for an angle out of range, before
    anything is sent. A command's timeout is checked between readings, so a dome that
    stops answering can hold the caller longer by at most one reading: seven requests of
    alpyca's 5 s HTTP timeout, each tried ``retries + 1`` times. Not thread-safe: one
    adapter per thread.
    """

    def __init__(self, settings: DeviceSettings | None = None) -> None:
        self.settings = settings if settings is not None else get_settings().devices
        self._dome, self._client = open_device(
            self.settings, "dome", Dome, "dome", DOME_PLATFORM7_VERSION
        )

    @cached_property
    def capabilities(self) -> DomeCapabilities:
        """The dome's capabilities (connects on first use)."""
        call, dome = self._client.call, self._dome
        return DomeCapabilities(
            can_set_shutter=bool(call("cansetshutter", lambda: dome.CanSetShutter)),
            can_set_azimuth=bool(call("cansetazimuth", lambda: dome.CanSetAzimuth)),
            can_set_altitude=bool(call("cansetaltitude", lambda: dome.CanSetAltitude)),
            can_park=bool(call("canpark", lambda: dome.CanPark)),
            can_find_home=bool(call("canfindhome", lambda: dome.CanFindHome)),
        )

    def status(self) -> DomeState:
        """Read the dome's state now (several requests; connects on first use)."""
        call, dome = self._client.call, self._dome
        # The reads are not one snapshot. Slewing comes first: when it is false the dome
        # was at rest before the positions were read, so "stopped" always goes with final
        # positions (read after it, a moving dome could arrive between the two reads).
        slewing = bool(call("slewing", lambda: dome.Slewing))
        altitude_deg = None
        if self.capabilities.can_set_altitude:
            altitude_deg = float(call("altitude", lambda: dome.Altitude))
        return DomeState(
            azimuth_deg=float(call("azimuth", lambda: dome.Azimuth)),
            shutter=ShutterState(int(call("shutterstatus", lambda: dome.ShutterStatus))),
            at_park=bool(call("atpark", lambda: dome.AtPark)),
            at_home=bool(call("athome", lambda: dome.AtHome)),
            slewing=slewing,
            connected=bool(call("connected", lambda: dome.Connected)),
            altitude_deg=altitude_deg,
        )

    def open_shutter(self) -> DomeState:
        """Open the shutter and wait until it reports open."""
        return self._move_shutter(ShutterState.OPEN, "openshutter", self._dome.OpenShutter)

    def close_shutter(self) -> DomeState:
        """Close the shutter and wait until it reports closed."""
        return self._move_shutter(ShutterState.CLOSED, "closeshutter", self._dome.CloseShutter)

    def slew_to_azimuth(self, azimuth_deg: float) -> DomeState:
        """Turn the dome to ``azimuth_deg`` in [0, 360) and wait until it stops there."""
        azimuth_deg = check_azimuth_deg(azimuth_deg)
        self._require(self.capabilities.can_set_azimuth, "CanSetAzimuth", "turn in azimuth")
        return self._slew(azimuth_deg, None)

    def slew_to_alt_az(self, altitude_deg: float, azimuth_deg: float) -> DomeState:
        """Bring the slit to the telescope's ``altitude_deg`` in [0, 90] and ``azimuth_deg``.

        A dome that cannot set its altitude (most domes: the slit spans the horizon to the
        zenith) turns in azimuth only; the altitude is still checked.
        """
        altitude_deg = check_altitude_deg(altitude_deg)
        azimuth_deg = check_azimuth_deg(azimuth_deg)
        self._require(self.capabilities.can_set_azimuth, "CanSetAzimuth", "turn in azimuth")
        if not self.capabilities.can_set_altitude:
            return self._slew(azimuth_deg, None)
        return self._slew(azimuth_deg, altitude_deg)

    def park(self) -> DomeState:
        """Send the dome to its park position and wait until it reports parked."""
        self._require(self.capabilities.can_park, "CanPark", "park")
        return self._go_to_flag("park", self._dome.Park, lambda state: state.at_park)

    def find_home(self) -> DomeState:
        """Send the dome to its home position and wait until it reports at home."""
        self._require(self.capabilities.can_find_home, "CanFindHome", "find home")
        return self._go_to_flag("findhome", self._dome.FindHome, lambda state: state.at_home)

    def abort(self) -> DomeState:
        """Stop all motion of the dome and wait until it reports no longer slewing."""
        self._client.call("abortslew", self._dome.AbortSlew)
        return self._client.wait_until(
            command="abortslew",
            target="slewing false",
            read_state=self.status,
            reached=lambda state: not state.slewing,
            timeout_s=self.settings.dome_move_timeout_s,
        )

    def _move_shutter(
        self, target: ShutterState, member: str, command: Callable[[], None]
    ) -> DomeState:
        self._require(self.capabilities.can_set_shutter, "CanSetShutter", "move its shutter")
        state = self.status()
        if state.shutter is target:
            return state
        self._client.call(member, command)
        return self._client.wait_until(
            command=member,
            target=f"shutter {target.name.lower()}",
            read_state=self.status,
            reached=lambda state: state.shutter is target,
            failed=_shutter_failure,
            timeout_s=self.settings.shutter_timeout_s,
        )

    def _slew(self, azimuth_deg: float, altitude_deg: float | None) -> DomeState:
        def arrived(state: DomeState) -> bool:
            return not state.slewing and self._at_position(state, azimuth_deg, altitude_deg)

        state = self.status()
        if arrived(state):
            return state
        if altitude_deg is not None:
            self._client.call("slewtoaltitude", lambda: self._dome.SlewToAltitude(altitude_deg))
        self._client.call("slewtoazimuth", lambda: self._dome.SlewToAzimuth(azimuth_deg))
        target = f"azimuth {azimuth_deg:g} deg"
        if altitude_deg is not None:
            target += f", altitude {altitude_deg:g} deg"
        return self._client.wait_until(
            command="slew",
            target=target,
            read_state=self.status,
            reached=arrived,
            failed=_stopped_short,
            timeout_s=self.settings.dome_move_timeout_s,
        )

    def _go_to_flag(
        self, member: str, command: Callable[[], None], flag: Callable[[DomeState], bool]
    ) -> DomeState:
        def arrived(state: DomeState) -> bool:
            return flag(state) and not state.slewing

        state = self.status()
        if arrived(state):
            return state
        self._client.call(member, command)
        return self._client.wait_until(
            command=member,
            target=f"{member} position",
            read_state=self.status,
            reached=arrived,
            failed=_stopped_short,
            timeout_s=self.settings.dome_move_timeout_s,
        )

    def _at_position(
        self, state: DomeState, azimuth_deg: float, altitude_deg: float | None
    ) -> bool:
        azimuth_off_deg = angular_distance_deg(state.azimuth_deg, azimuth_deg)
        if azimuth_off_deg > self.settings.dome_azimuth_tolerance_deg:
            return False
        if altitude_deg is None or state.altitude_deg is None:
            return True
        altitude_off_deg = abs(state.altitude_deg - altitude_deg)
        return altitude_off_deg <= self.settings.dome_altitude_tolerance_deg

    def _require(self, capable: bool, flag: str, action: str) -> None:
        if not capable:
            raise DeviceRefused(f"{self._client.label} cannot {action} ({flag} is false)")


def _shutter_failure(state: DomeState) -> str | None:
    return "the shutter reports an error" if state.shutter is ShutterState.ERROR else None


def _stopped_short(state: DomeState) -> str | None:
    # An accepted slew shows Slewing at once (Alpaca's asynchronous methods), so a dome at
    # rest that has not arrived was stopped (abort, fault) and will not arrive by itself.
    return None if state.slewing else "the dome stopped before reaching the target"
