"""The dome: a shutter plus an azimuth (and, where the dome has one, an altitude) pointing.

A roll-off roof is a dome with a shutter only: it cannot set its azimuth, park or find
home, and may answer "not implemented" to Azimuth, AtPark and AtHome (ASCOM allows it when
CanSetAzimuth, CanPark and CanFindHome are false); those then read as unknown (None).

:class:`DomeAdapter` drives an ASCOM Alpaca dome through alpyca. Every command is
absolute and safe to repeat (closing a closed dome returns at once), blocks until the
dome reports the commanded state, and raises :class:`~observatory.errors.DeviceTimeout`
when it does not get there in time. Angles are degrees; azimuth runs from north through
east, in [0, 360).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from alpaca.dome import Dome

from observatory.devices.alpaca_client import open_device
from observatory.devices.angles import angular_distance_deg, check_altitude_deg, check_azimuth_deg
from observatory.errors import DeviceError, DeviceRefused
from observatory.settings import DeviceSettings, get_settings

log = logging.getLogger(__name__)

# Dome interface version 3 is Platform 7: asynchronous Connect, Slewing covers the shutter.
DOME_PLATFORM7_VERSION = 3

# Many controllers update ShutterStatus on their next status poll, so a shutter in Error
# may still read Error just after a command it is about to carry out. Error counts as a
# failure only when read this long after the command was sent.
SHUTTER_ERROR_GRACE_S = 2.0


class ShutterState(enum.Enum):
    """The shutter (or roof); values are ASCOM's ShutterStatus numbers."""

    OPEN = 0
    CLOSED = 1
    OPENING = 2
    CLOSING = 3
    ERROR = 4

    def __str__(self) -> str:
        return f"shutter {self.name.lower()}"


@dataclass(frozen=True)
class DomeState:
    """One reading of the dome. ``altitude_deg`` is None when the dome cannot set one;
    ``azimuth_deg``, ``at_park`` and ``at_home`` are None (unknown) when the dome cannot
    set its azimuth, park or find home (a roll-off roof) and does not report them."""

    azimuth_deg: float | None
    shutter: ShutterState
    at_park: bool | None
    at_home: bool | None
    slewing: bool
    connected: bool
    altitude_deg: float | None = None

    def __str__(self) -> str:
        azimuth = "unknown" if self.azimuth_deg is None else f"{self.azimuth_deg:.2f} deg"
        altitude = "" if self.altitude_deg is None else f", altitude {self.altitude_deg:.2f} deg"
        return (
            f"azimuth {azimuth}{altitude}, {self.shutter},"
            f" slewing {self.slewing}, at park {_word(self.at_park)},"
            f" at home {_word(self.at_home)}, connected {self.connected}"
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
    first use. Each command returns the state that completed it (the shutter's
    :class:`ShutterState` for opening and closing, else the :class:`DomeState`) and raises
    :class:`DeviceTimeout` past its timeout (``shutter_timeout_s``,
    ``dome_move_timeout_s``), :class:`DeviceRefused` when the dome lacks the capability
    or refuses, :class:`DeviceUnreachable` when it cannot be reached after the retries,
    :class:`DeviceError` when it stops short of the target, reports a shutter error for
    longer than ``SHUTTER_ERROR_GRACE_S`` after the command, or gives a reply that is not
    understood, and :class:`InvalidTarget` (a ``ValueError``) for an angle out of range,
    before anything is sent. A command's timeout is checked between readings, so a dome that
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
        read, dome = self._client.read, self._dome
        return DomeCapabilities(
            can_set_shutter=read("cansetshutter", lambda: dome.CanSetShutter, bool),
            can_set_azimuth=read("cansetazimuth", lambda: dome.CanSetAzimuth, bool),
            can_set_altitude=read("cansetaltitude", lambda: dome.CanSetAltitude, bool),
            can_park=read("canpark", lambda: dome.CanPark, bool),
            can_find_home=read("canfindhome", lambda: dome.CanFindHome, bool),
        )

    def status(self) -> DomeState:
        """Read the dome's state now (several requests; connects on first use).

        Azimuth, AtPark and AtHome are read only where the dome can set its azimuth, park
        or find home; otherwise they are None. Raises :class:`DeviceError` when a reply is
        not understood.
        """
        read, dome, can = self._client.read, self._dome, self.capabilities
        # The reads are not one snapshot. Slewing comes first: when it is false the dome
        # was at rest before the positions were read, so "stopped" always goes with final
        # positions (read after it, a moving dome could arrive between the two reads).
        slewing = read("slewing", lambda: dome.Slewing, bool)
        altitude_deg = None
        if can.can_set_altitude:
            altitude_deg = read("altitude", lambda: dome.Altitude, float)
        azimuth_deg = read("azimuth", lambda: dome.Azimuth, float) if can.can_set_azimuth else None
        return DomeState(
            azimuth_deg=azimuth_deg,
            shutter=self.shutter(),
            at_park=read("atpark", lambda: dome.AtPark, bool) if can.can_park else None,
            at_home=read("athome", lambda: dome.AtHome, bool) if can.can_find_home else None,
            slewing=slewing,
            connected=read("connected", lambda: dome.Connected, bool),
            altitude_deg=altitude_deg,
        )

    def shutter(self) -> ShutterState:
        """The shutter's state now: one ShutterStatus request. Raises :class:`DeviceError`
        for a reply that is not one of ASCOM's five ShutterStatus numbers."""
        # Read raw, not through alpyca's ShutterState, which takes a JSON true for 1.
        value = self._client.read("shutterstatus", lambda: self._dome._get("shutterstatus"), int)
        try:
            return ShutterState(value)
        except ValueError:
            raise DeviceError(
                f"{self._client.label} shutterstatus: reply value {value} is not a"
                " ShutterStatus (0 open, 1 closed, 2 opening, 3 closing, 4 error)"
            ) from None

    def open_shutter(self) -> ShutterState:
        """Open the shutter and wait until it reports open; returns that state.

        Refused (:class:`DeviceRefused`) before anything is sent when CanSetShutter is false.
        """
        self._require(self.capabilities.can_set_shutter, "CanSetShutter", "move its shutter")
        if self.shutter() is ShutterState.OPEN:
            return ShutterState.OPEN
        return self._move_shutter(ShutterState.OPEN, "openshutter", self._dome.OpenShutter)

    def close_shutter(self) -> ShutterState:
        """Close the shutter and wait until it reports closed; returns that state.

        Closing is always safe to attempt, so it needs nothing but ShutterStatus: when that
        cannot be read or is not understood, CloseShutter is sent anyway (the reason is
        logged); a dome that cannot close answers the command with its own refusal.
        """
        try:
            if self.shutter() is ShutterState.CLOSED:
                return ShutterState.CLOSED
        except DeviceError as error:
            log.warning("shutter state unknown, closing anyway: %s", error)
        return self._move_shutter(ShutterState.CLOSED, "closeshutter", self._dome.CloseShutter)

    def slew_to_azimuth(self, azimuth_deg: float) -> DomeState:
        """Turn the dome to ``azimuth_deg`` in [0, 360) and wait until it stops there."""
        azimuth_deg = check_azimuth_deg(azimuth_deg)
        self._require(self.capabilities.can_set_azimuth, "CanSetAzimuth", "turn in azimuth")
        return self._slew(azimuth_deg, None)

    def slew_to_alt_az(self, altitude_deg: float, azimuth_deg: float) -> DomeState:
        """Bring the slit to the telescope's ``altitude_deg`` in [0, 90] and ``azimuth_deg``.

        A dome that cannot set its altitude (most domes: the slit spans the horizon to the
        zenith) turns in azimuth only; the altitude is still checked. A dome that can set
        both moves its altitude first and then its azimuth, each awaited.
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
        return self._go_to_flag("park", self._dome.Park, lambda state: state.at_park is True)

    def find_home(self) -> DomeState:
        """Send the dome to its home position and wait until it reports at home."""
        self._require(self.capabilities.can_find_home, "CanFindHome", "find home")
        return self._go_to_flag(
            "findhome", self._dome.FindHome, lambda state: state.at_home is True
        )

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
    ) -> ShutterState:
        self._client.call(member, command)
        sent_s = time.monotonic()

        def failure(state: ShutterState) -> str | None:
            if state is not ShutterState.ERROR:
                return None
            if time.monotonic() - sent_s < SHUTTER_ERROR_GRACE_S:
                return None  # the controller may not have taken the command up yet
            return f"the shutter reports an error {SHUTTER_ERROR_GRACE_S:g} s after {member}"

        return self._client.wait_until(
            command=member,
            target=str(target),
            read_state=self.shutter,
            reached=lambda state: state is target,
            failed=failure,
            timeout_s=self.settings.shutter_timeout_s,
        )

    def _slew(self, azimuth_deg: float, altitude_deg: float | None) -> DomeState:
        def arrived(state: DomeState) -> bool:
            return not state.slewing and self._at_position(state, azimuth_deg, altitude_deg)

        state = self.status()
        if arrived(state):
            return state
        if altitude_deg is not None:
            # One axis at a time: the spec does not say that SlewToAzimuth leaves a
            # SlewToAltitude under way running, and some domes drop the earlier slew.
            def altitude_arrived(state: DomeState) -> bool:
                return not state.slewing and self._at_altitude(state, altitude_deg)

            self._client.call("slewtoaltitude", lambda: self._dome.SlewToAltitude(altitude_deg))
            self._client.wait_until(
                command="slewtoaltitude",
                target=f"altitude {altitude_deg:g} deg",
                read_state=self.status,
                reached=altitude_arrived,
                failed=_stopped_short,
                timeout_s=self.settings.dome_move_timeout_s,
            )
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
        if state.azimuth_deg is None:
            return False
        azimuth_off_deg = angular_distance_deg(state.azimuth_deg, azimuth_deg)
        if azimuth_off_deg > self.settings.dome_azimuth_tolerance_deg:
            return False
        return altitude_deg is None or self._at_altitude(state, altitude_deg)

    def _at_altitude(self, state: DomeState, altitude_deg: float) -> bool:
        if state.altitude_deg is None:
            return True
        altitude_off_deg = abs(state.altitude_deg - altitude_deg)
        return altitude_off_deg <= self.settings.dome_altitude_tolerance_deg

    def _require(self, capable: bool, flag: str, action: str) -> None:
        if not capable:
            raise DeviceRefused(f"{self._client.label} cannot {action} ({flag} is false)")


def _word(flag: bool | None) -> str:
    return "unknown" if flag is None else str(flag)


def _stopped_short(state: DomeState) -> str | None:
    # An accepted slew shows Slewing at once (Alpaca's asynchronous methods), so a dome at
    # rest that has not arrived was stopped (abort, fault) and will not arrive by itself.
    return None if state.slewing else "the dome stopped before reaching the target"
