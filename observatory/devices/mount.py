"""The mount: points the telescope at J2000 right ascension and declination and tracks.

:class:`MountAdapter` drives an ASCOM Alpaca telescope through alpyca with asynchronous
slews only (a synchronous slew would hold one HTTP reply for minutes). Every command is
absolute and safe to repeat (unparking an unparked mount returns at once) and blocks
until the mount reports the commanded state. Angles are degrees: right ascension in
[0, 360), declination in [-90, 90], azimuth from north through east.

Coordinates are J2000 (ICRS) on this side whatever the mount works in: its
``EquatorialSystem`` is read once, and targets are converted to it and positions read back
from it (:mod:`observatory.devices.equatorial`; Topocentric, "JNow", is what most mounts
report). A date-dependent system takes its date from the mount's own clock.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from alpaca.exceptions import AlpacaRequestException, NotImplementedException
from alpaca.telescope import Telescope

from observatory.devices.alpaca_client import open_device
from observatory.devices.angles import angular_distance_deg
from observatory.devices.equatorial import EquatorialSystem, from_mount, to_mount
from observatory.errors import DeviceError, DeviceRefused, InvalidTarget
from observatory.settings import DeviceSettings, TelescopeSettings, get_settings

# Telescope interface version 4 is Platform 7 (asynchronous Connect).
TELESCOPE_PLATFORM7_VERSION = 4
# A finished slew further than this from its target counts as stopped short.
SLEW_ARRIVAL_TOLERANCE_DEG = 0.1

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MountState:
    """One reading of the mount: reported pointing (J2000, converted from the mount's
    equatorial system), alt/az, and motion flags. ``altitude_deg``/``azimuth_deg`` are
    None from a mount that does not implement them (optional in ASCOM); see
    :func:`with_horizontal`."""

    ra_deg: float
    dec_deg: float
    altitude_deg: float | None
    azimuth_deg: float | None
    tracking: bool
    slewing: bool
    at_park: bool

    def __str__(self) -> str:
        return (
            f"RA {self.ra_deg:.4f} deg, Dec {self.dec_deg:.4f} deg, altitude"
            f" {_degrees(self.altitude_deg)}, azimuth {_degrees(self.azimuth_deg)}, tracking"
            f" {self.tracking}, slewing {self.slewing}, at park {self.at_park}"
        )


def _degrees(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.2f} deg"


@dataclass(frozen=True)
class MountSite:
    """Where the mount is set to stand (SiteLatitude, SiteLongitude east positive,
    SiteElevation); None for what it does not implement (all three are optional)."""

    latitude_deg: float | None
    longitude_deg: float | None
    elevation_m: float | None


class MountAdapter:
    """An Alpaca telescope at ``devices.telescope_address``, device ``telescope_number``.

    ``devices`` and ``telescope`` default to the process-wide settings; slews and parking
    time out after ``telescope.slew_timeout_s``. Errors: :class:`DeviceTimeout` past the
    timeout, :class:`DeviceRefused` when the mount refuses (parked, below its horizon,
    tracking in the wrong state), :class:`DeviceUnreachable`, :class:`DeviceError` when a
    slew ends away from its target, :class:`InvalidTarget` for coordinates out of range
    (before anything is sent). Not thread-safe: one adapter per thread.
    """

    def __init__(
        self, devices: DeviceSettings | None = None, telescope: TelescopeSettings | None = None
    ) -> None:
        self.devices = devices if devices is not None else get_settings().devices
        self.telescope = telescope if telescope is not None else get_settings().telescope
        self._mount, self._client = open_device(
            self.devices, "telescope", Telescope, "mount", TELESCOPE_PLATFORM7_VERSION
        )
        self._system: EquatorialSystem | None = None
        # The mount's clock minus ours, seconds: measured at the first need and at each slew.
        self._clock_offset_s: float | None = None

    @property
    def label(self) -> str:
        return self._client.label

    def status(self) -> MountState:
        """Read the mount now (several requests; connects on first use)."""
        call, mount = self._client.call, self._mount
        # Slewing first: when false, the positions read after it are final.
        slewing = bool(call("slewing", lambda: mount.Slewing))
        ra_deg, dec_deg = self._from_mount(
            float(call("rightascension", lambda: mount.RightAscension)) * 15.0,
            float(call("declination", lambda: mount.Declination)),
        )
        # Altitude and Azimuth are optional in ASCOM: a mount may answer 0x400.
        altitude = self._client.call_optional("altitude", lambda: mount.Altitude)
        azimuth = self._client.call_optional("azimuth", lambda: mount.Azimuth)
        return MountState(
            ra_deg=ra_deg,
            dec_deg=dec_deg,
            altitude_deg=None if altitude is None else float(altitude),
            azimuth_deg=None if azimuth is None else float(azimuth) % 360.0,
            tracking=bool(call("tracking", lambda: mount.Tracking)),
            slewing=slewing,
            at_park=bool(call("atpark", lambda: mount.AtPark)),
        )

    def focal_length_mm(self) -> float | None:
        """The telescope's focal length in mm, or None when the mount does not know it
        (zero, or refused: FocalLength is optional in ASCOM)."""
        try:
            metres = self._client.call("focallength", lambda: self._mount.FocalLength)
        except DeviceRefused as refused:
            log.info("no focal length from the mount: %s", refused)
            return None
        return float(metres) * 1000.0 if metres else None

    def site(self) -> MountSite:
        """The site the mount is set for (three requests; connects on first use). Its
        sidereal time, and so every altitude computed from it, is that place's."""
        call, mount = self._client.call_optional, self._mount
        values = (
            call("sitelatitude", lambda: mount.SiteLatitude),
            call("sitelongitude", lambda: mount.SiteLongitude),
            call("siteelevation", lambda: mount.SiteElevation),
        )
        latitude, longitude, elevation = (None if v is None else float(v) for v in values)
        return MountSite(latitude, longitude, elevation)

    def sidereal_time_hours(self) -> float:
        """The mount's local apparent sidereal time, hours in [0, 24)."""
        return float(self._client.call("siderealtime", lambda: self._mount.SiderealTime)) % 24.0

    def unpark(self) -> MountState:
        """Leave the park position (no motion); returns at once when not parked."""
        state = self.status()
        if not state.at_park:
            return state
        self._client.call("unpark", self._mount.Unpark)
        return self._client.wait_until(
            command="unpark",
            target="not at park",
            read_state=self.status,
            reached=lambda s: not s.at_park,
            timeout_s=self.telescope.slew_timeout_s,
        )

    def set_tracking(self, on: bool) -> MountState:
        """Switch sidereal tracking on or off; refused (:class:`DeviceRefused`) while parked.
        Nothing is sent when the mount already tracks as asked: a mount that cannot set
        Tracking (CanSetTracking false, e.g. one that always tracks) refuses any write."""
        state = self.status()
        if state.tracking is on:
            return state
        self._client.call("tracking", lambda: setattr(self._mount, "Tracking", on))
        return self._client.wait_until(
            command="tracking",
            target=f"tracking {on}",
            read_state=self.status,
            reached=lambda s: s.tracking is on,
            timeout_s=self.devices.connect_timeout_s,
        )

    def slew_to_radec(
        self, ra_deg: float, dec_deg: float, stop: Callable[[], str | None] | None = None
    ) -> MountState:
        """Slew to J2000 ``ra_deg`` in [0, 360), ``dec_deg`` in [-90, 90] and wait until
        the mount stops there. Tracking must be on (see :meth:`set_tracking`).

        ``stop()``, asked on every poll, returns a reason to give up waiting (e.g. a cancel
        request): that is raised as :class:`DeviceError` at once, with the mount still
        slewing; the caller stops it (:meth:`abort`)."""
        ra_deg, dec_deg = check_radec_deg(ra_deg, dec_deg)
        mount_ra_deg, mount_dec_deg = self._to_mount(ra_deg, dec_deg)
        ra_hours = mount_ra_deg / 15.0
        self._client.call(
            "slewtocoordinatesasync",
            lambda: self._mount.SlewToCoordinatesAsync(ra_hours, mount_dec_deg),
        )
        target = f"RA {ra_deg:.4f} deg, Dec {dec_deg:.4f} deg"
        state = self._client.wait_until(
            command="slew",
            target=target,
            read_state=self.status,
            reached=lambda s: not s.slewing,
            failed=lambda _: stop() if stop is not None else None,
            timeout_s=self.telescope.slew_timeout_s,
        )
        off_deg = separation_deg(state.ra_deg, state.dec_deg, ra_deg, dec_deg)
        if off_deg > SLEW_ARRIVAL_TOLERANCE_DEG:
            raise DeviceError(
                f"{self.label} slew to {target} stopped {off_deg:.3f} deg away; last state: {state}"
            )
        return state

    def equatorial_system(self) -> EquatorialSystem:
        """The mount's equatorial system, read once (connecting first). A mount without the
        member (Telescope interface 1) or declaring Other is taken as J2000, and the log
        says so."""
        if self._system is not None:
            return self._system
        # A value outside 0..4 fails in alpyca's enum: the client's error map names it.
        value = self._client.call("equatorialsystem", lambda: _read_system(self._mount))
        system = EquatorialSystem.OTHER if value is None else EquatorialSystem(value)
        if system is EquatorialSystem.OTHER:
            what = "has no EquatorialSystem" if value is None else "reports EquatorialSystem Other"
            log.warning("%s %s: its coordinates are taken as J2000, unconverted", self.label, what)
        else:
            log.info("%s works in EquatorialSystem %s", self.label, system.name)
        self._system = system
        return system

    def _to_mount(self, ra_deg: float, dec_deg: float) -> tuple[float, float]:
        """J2000 to the mount's system at the mount's date, read from its clock now."""
        system = self.equatorial_system()
        epoch_utc = self._mount_utc(refresh=True) if system.needs_epoch else None
        return to_mount(system, ra_deg, dec_deg, epoch_utc)

    def _from_mount(self, ra_deg: float, dec_deg: float) -> tuple[float, float]:
        """The mount's system to J2000; the mount's date is its clock as last read, plus
        the time elapsed here (no request per reading)."""
        system = self.equatorial_system()
        epoch_utc = self._mount_utc(refresh=False) if system.needs_epoch else None
        return from_mount(system, ra_deg, dec_deg, epoch_utc)

    def _mount_utc(self, refresh: bool) -> datetime:
        if refresh or self._clock_offset_s is None:
            mount_utc = self._client.call("utcdate", lambda: self._mount.UTCDate)
            self._clock_offset_s = _aware_utc(mount_utc).timestamp() - time.time()
        return datetime.now(UTC) + timedelta(seconds=self._clock_offset_s)

    def can_park(self) -> bool:
        """Whether the mount has a park position (CanPark)."""
        return self._client.read("canpark", lambda: self._mount.CanPark, bool)

    def park(self) -> MountState:
        """Send the mount to its park position (tracking stops) and wait until parked."""
        state = self.status()
        if state.at_park:
            return state
        self._client.call("park", self._mount.Park)
        return self._client.wait_until(
            command="park",
            target="park position",
            read_state=self.status,
            reached=lambda s: s.at_park and not s.slewing,
            timeout_s=self.telescope.slew_timeout_s,
        )

    def abort(self) -> MountState:
        """Stop any slew and wait until the mount reports no longer slewing.

        A parked mount refuses AbortSlew, and has nothing to stop: it is returned as is.
        """
        state = self.status()
        if state.at_park:
            return state
        self._client.call("abortslew", self._mount.AbortSlew)
        return self._client.wait_until(
            command="abortslew",
            target="slewing false",
            read_state=self.status,
            reached=lambda s: not s.slewing,
            timeout_s=self.telescope.slew_timeout_s,
        )


def _read_system(mount: Telescope) -> int | None:
    """EquatorialSystem, or None from a mount that does not implement it: one that says
    so (0x400), or a server that does not know the member (HTTP 4xx, as Telescope
    interface 1 servers answer). Handled, and logged, by the caller; a 5xx is raised."""
    try:
        return int(mount.EquatorialSystem)
    except NotImplementedException:
        return None
    except AlpacaRequestException as error:
        if 400 <= error.number < 500:
            return None
        raise


def _aware_utc(value: datetime) -> datetime:
    # UTCDate is UTC by definition; a mount that leaves out the "Z" still means UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def check_radec_deg(ra_deg: object, dec_deg: object) -> tuple[float, float]:
    """``(ra_deg, dec_deg)`` as floats; :class:`InvalidTarget` naming the value when out of
    range ([0, 360) and [-90, 90]) or not a finite number."""
    values = []
    for name, value, low, high in (("ra", ra_deg, 0.0, 360.0), ("dec", dec_deg, -90.0, 90.0)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidTarget(f"{name} must be a number of degrees, got {value!r}")
        number = float(value)
        inside = low <= number < high if name == "ra" else low <= number <= high
        if not inside:
            raise InvalidTarget(f"{name} {value!r} deg is outside [{low:g}, {high:g}]")
        values.append(number)
    return values[0], values[1]


def altitude_deg(
    ra_deg: float, dec_deg: float, sidereal_time_hours: float, latitude_deg: float
) -> float:
    """Geometric altitude of J2000 ``ra_deg``/``dec_deg`` at a local sidereal time (no
    refraction, no precession: good to a fraction of a degree, enough for limits)."""
    hour_angle = math.radians(sidereal_time_hours * 15.0 - ra_deg)
    dec, lat = math.radians(dec_deg), math.radians(latitude_deg)
    sine = math.sin(lat) * math.sin(dec) + math.cos(lat) * math.cos(dec) * math.cos(hour_angle)
    return math.degrees(math.asin(max(-1.0, min(1.0, sine))))


def azimuth_deg(
    ra_deg: float, dec_deg: float, sidereal_time_hours: float, latitude_deg: float
) -> float:
    """Geometric azimuth (from north through east, [0, 360)) of J2000 ``ra_deg``/
    ``dec_deg`` at a local sidereal time; as :func:`altitude_deg`, good to a fraction of a
    degree."""
    hour_angle = math.radians(sidereal_time_hours * 15.0 - ra_deg)
    dec, lat = math.radians(dec_deg), math.radians(latitude_deg)
    east = -math.cos(dec) * math.sin(hour_angle)
    north = math.sin(dec) * math.cos(lat) - math.cos(dec) * math.sin(lat) * math.cos(hour_angle)
    return math.degrees(math.atan2(east, north)) % 360.0


def with_horizontal(
    state: MountState, sidereal_time_hours: float, latitude_deg: float
) -> MountState:
    """``state`` with its unknown altitude and azimuth (a mount that does not implement
    them) computed from its RA/Dec at the mount's sidereal time and ``latitude_deg``;
    ``state`` itself when the mount reported both."""
    if state.altitude_deg is not None and state.azimuth_deg is not None:
        return state
    args = (state.ra_deg, state.dec_deg, sidereal_time_hours, latitude_deg)
    return replace(
        state,
        altitude_deg=altitude_deg(*args) if state.altitude_deg is None else state.altitude_deg,
        azimuth_deg=azimuth_deg(*args) if state.azimuth_deg is None else state.azimuth_deg,
    )


def separation_deg(ra1_deg: float, dec1_deg: float, ra2_deg: float, dec2_deg: float) -> float:
    """Angle between two points of the sky, degrees (haversine, exact near zero)."""
    dra = math.radians(angular_distance_deg(ra1_deg, ra2_deg))
    d1, d2 = math.radians(dec1_deg), math.radians(dec2_deg)
    h = math.sin((d2 - d1) / 2) ** 2 + math.cos(d1) * math.cos(d2) * math.sin(dra / 2) ** 2
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(h))))
