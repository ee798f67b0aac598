"""A German equatorial mount (ITelescopeV4) with a pointing error.

Slews run at ``slew_rate_deg_s`` on both axes at once; ``Slewing`` is true as soon as the
PUT returns and stays true for ``SlewSettleTime`` after arrival. Equatorial slews and
syncs need Tracking on (else 0x40B); alt/az slews need it off. ``Park`` is a slew too:
``AtPark`` turns true only once it has arrived and settled, and until then AbortSlew
(or any other slew, or MoveAxis) stops it and leaves the mount unparked; Tracking=true
during it answers 0x40B. Once parked, slews, syncs, MoveAxis, PulseGuide, FindHome,
AbortSlew and Tracking=true answer 0x408. Coordinates are J2000 (EquatorialSystem 2)
unless ``equatorial_system`` says Topocentric (1: apparent of date, "JNow", as most real
mounts report) or Other (0: J2000 without saying so); sidereal time and alt/az come from
the simulated clock.

The mount truly points away from what it reports by a fixed offset plus a random offset
drawn at each slew (see :mod:`observatory.simulator.sky.pointing`); the camera renders
the sky at :meth:`Telescope.true_pointing`, and the ``simulator:truth`` Action reports
both.
"""

from __future__ import annotations

import json
import math
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field

from observatory.devices.equatorial import EquatorialSystem, from_mount
from observatory.simulator.devices.base import Device, DeviceSettings, action, get, put
from observatory.simulator.errors import (
    InvalidOperation,
    InvalidValue,
    InvalidWhileParked,
    NotImplementedAscom,
    ValueNotSet,
)
from observatory.simulator.sky.kinematics import (
    Axes,
    altaz_to_hadec,
    hadec_to_altaz,
    pier_side_for,
    signed_hour_angle_deg,
)
from observatory.simulator.sky.pointing import PointingModel
from observatory.simulator.sky.sidereal import local_sidereal_time_hours

SIDEREAL_RATE_DEG_S = 360.0 / 86164.0905
ALIGNMENT_GERMAN_POLAR = 2
TRACKING_SIDEREAL = 0
GUIDE_DIRECTIONS = {0: (0.0, 1.0), 1: (0.0, -1.0), 2: (1.0, 0.0), 3: (-1.0, 0.0)}  # N S E W


class TelescopeSettings(DeviceSettings):
    focal_length_m: float = Field(default=0.53, gt=0)
    aperture_diameter_m: float = Field(default=0.106, gt=0)
    # Diameter of the central obstruction (0 for a refractor).
    obstruction_diameter_m: float = Field(default=0.0, ge=0)
    slew_rate_deg_s: float = Field(default=4.0, gt=0, le=30)
    slew_settle_time_s: int = Field(default=0, ge=0)
    guide_rate_deg_s: float = Field(default=0.5 * SIDEREAL_RATE_DEG_S, gt=0)
    # Slews to targets below this altitude are refused (0x401).
    horizon_limit_deg: float = Field(default=0.0, ge=-90, le=90)
    # Park and home as hour angle and declination (the pole, counterweight down).
    park_hour_angle_deg: float = Field(default=0.0, ge=-180, le=180)
    park_declination_deg: float = Field(default=90.0, ge=-90, le=90)
    home_hour_angle_deg: float = Field(default=0.0, ge=-180, le=180)
    home_declination_deg: float = Field(default=90.0, ge=-90, le=90)
    start_parked: bool = True
    # What EquatorialSystem reports and the frame of every coordinate taken and given:
    # 2 J2000, 1 Topocentric (apparent of date, "JNow"), 0 Other (J2000, unsaid).
    equatorial_system: Literal[0, 1, 2] = 2
    # True pointing = reported + fixed offset + a random offset per slew (1 sigma).
    pointing_error_east_arcsec: float = 45.0
    pointing_error_north_arcsec: float = -30.0
    pointing_error_random_arcsec: float = Field(default=20.0, ge=0)


class Telescope(Device):
    device_type = "telescope"
    default_name = "Simulated Mount"
    default_description = "German equatorial mount with a pointing error"
    settings_model = TelescopeSettings
    device_state_members = (
        ("Altitude", "altitude"),
        ("AtHome", "athome"),
        ("AtPark", "atpark"),
        ("Azimuth", "azimuth"),
        ("Declination", "declination"),
        ("IsPulseGuiding", "ispulseguiding"),
        ("RightAscension", "rightascension"),
        ("SideOfPier", "sideofpier"),
        ("SiderealTime", "siderealtime"),
        ("Slewing", "slewing"),
        ("Tracking", "tracking"),
        ("UTCDate", "utcdate"),
    )
    settings: TelescopeSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cfg = self.settings
        site = self._observatory.site if self._observatory is not None else None
        self._latitude_deg = site.latitude_deg if site else 0.0
        self._longitude_deg = site.longitude_deg if site else 0.0
        self._elevation_m = site.elevation_m if site else 0.0
        self.pointing = PointingModel(
            cfg.pointing_error_east_arcsec,
            cfg.pointing_error_north_arcsec,
            cfg.pointing_error_random_arcsec,
            self.rng,
        )
        self._park = (cfg.park_hour_angle_deg, cfg.park_declination_deg)
        self._axes = Axes.at_rest(*self._park, tracking=False, now_s=self.clock.now_s())
        # Park was commanded and not since cancelled: parked once the slew has ended.
        self._park_commanded = cfg.start_parked
        self._homing = False
        self._settle_s = cfg.slew_settle_time_s
        self._settle_until_s = -math.inf
        self._pulse_until_s = -math.inf
        self._pier_side = pier_side_for(cfg.park_hour_angle_deg)
        self._target_ra_h: float | None = None
        self._target_dec_deg: float | None = None
        self._guide_rates = (cfg.guide_rate_deg_s, cfg.guide_rate_deg_s)

    # -- attributes other simulated devices read ----------------------------------------

    def lst_deg(self) -> float:
        """Local sidereal time now, degrees."""
        return 15.0 * local_sidereal_time_hours(self.clock.utc_now(), self._longitude_deg)

    def reported_radec_deg(self) -> tuple[float, float]:
        return self._axes.radec(self.clock.now_s(), self.lst_deg())

    def true_pointing(self) -> tuple[float, float]:
        """(ra, dec) in degrees, J2000, where the optical axis truly points."""
        return self.true_pointing_at(self.clock.now_s())

    def true_pointing_at(self, at_s: float) -> tuple[float, float]:
        """Where the optical axis will truly point at simulated time ``at_s`` if no new
        command arrives (slews and MoveAxis run on; tracking off lets the sky drift)."""
        now_s = self.clock.now_s()
        lst_deg = self.lst_deg() + (at_s - now_s) * SIDEREAL_RATE_DEG_S
        reported = self._j2000(*self._axes.radec(at_s, lst_deg), at_s - now_s)
        return self.pointing.true_from_reported(*reported)

    def _j2000(self, ra_deg: float, dec_deg: float, ahead_s: float = 0.0) -> tuple[float, float]:
        """Mount coordinates (``ahead_s`` simulated seconds from now) as J2000."""
        system = EquatorialSystem(self.settings.equatorial_system)
        if not system.needs_epoch:
            return ra_deg, dec_deg
        epoch_utc = self.clock.utc_now() + timedelta(seconds=ahead_s)
        return from_mount(system, ra_deg, dec_deg, epoch_utc)

    @property
    def azimuth_deg(self) -> float:
        """Azimuth the telescope points at (reported), degrees."""
        return self._altaz()[1]

    @property
    def slewing(self) -> bool:
        now_s = self.clock.now_s()
        return self._axes.moving(now_s) or now_s < self._settle_until_s

    @property
    def at_park(self) -> bool:
        """True once a Park has arrived and settled (not while it slews)."""
        return self._park_commanded and not self.slewing

    def _altaz(self) -> tuple[float, float]:
        ha, dec = self._axes.hadec(self.clock.now_s(), self.lst_deg())
        return hadec_to_altaz(ha, dec, self._latitude_deg)

    # -- capabilities and constants -----------------------------------------------------

    @get("canfindhome")
    @get("canpark")
    @get("canpulseguide")
    @get("cansetguiderates")
    @get("cansetpark")
    @get("cansettracking")
    @get("canslewaltazasync")
    @get("canslewasync")
    @get("cansync")
    @get("canunpark")
    def get_can(self) -> bool:
        return True

    # Only the asynchronous slews: a synchronous one would hold an HTTP reply for minutes.
    @get("canslew")
    @get("canslewaltaz")
    @get("cansetdeclinationrate")
    @get("cansetpierside")
    @get("cansetrightascensionrate")
    @get("cansyncaltaz")
    def get_cannot(self) -> bool:
        return False

    @get("canmoveaxis")
    def get_can_move_axis(self, axis: int) -> bool:
        self._check_axis_number(axis)
        return axis in (0, 1)

    @get("axisrates")
    def get_axis_rates(self, axis: int) -> list[dict[str, float]]:
        self._check_axis_number(axis)
        if axis == 2:
            return []
        return [{"Minimum": 0.0, "Maximum": self.settings.slew_rate_deg_s}]

    @get("alignmentmode")
    def get_alignment_mode(self) -> int:
        return ALIGNMENT_GERMAN_POLAR

    @get("equatorialsystem")
    def get_equatorial_system(self) -> int:
        return self.settings.equatorial_system

    @get("aperturediameter")
    def get_aperture_diameter(self) -> float:
        return self.settings.aperture_diameter_m

    @get("aperturearea")
    def get_aperture_area(self) -> float:
        cfg = self.settings
        return math.pi / 4.0 * (cfg.aperture_diameter_m**2 - cfg.obstruction_diameter_m**2)

    @get("focallength")
    def get_focal_length(self) -> float:
        return self.settings.focal_length_m

    @get("doesrefraction")
    def get_does_refraction(self) -> bool:
        return False

    @get("trackingrate")
    def get_tracking_rate(self) -> int:
        return TRACKING_SIDEREAL

    @put("trackingrate")
    def set_tracking_rate(self, tracking_rate: int) -> None:
        if tracking_rate != TRACKING_SIDEREAL:
            raise InvalidValue(f"tracking rate {tracking_rate} unsupported: only 0 (sidereal)")

    @get("trackingrates")
    def get_tracking_rates(self) -> list[int]:
        return [TRACKING_SIDEREAL]

    @get("declinationrate")
    @get("rightascensionrate")
    def get_rate_offset(self) -> float:
        return 0.0

    @get("guideratedeclination")
    def get_guide_rate_dec(self) -> float:
        return self._guide_rates[1]

    @put("guideratedeclination")
    def set_guide_rate_dec(self, guide_rate_declination: float) -> None:
        self._check_guide_rate(guide_rate_declination)
        self._guide_rates = (self._guide_rates[0], guide_rate_declination)

    @get("guideraterightascension")
    def get_guide_rate_ra(self) -> float:
        return self._guide_rates[0]

    @put("guideraterightascension")
    def set_guide_rate_ra(self, guide_rate_right_ascension: float) -> None:
        self._check_guide_rate(guide_rate_right_ascension)
        self._guide_rates = (guide_rate_right_ascension, self._guide_rates[1])

    @get("slewsettletime")
    def get_slew_settle_time(self) -> int:
        return self._settle_s

    @put("slewsettletime")
    def set_slew_settle_time(self, slew_settle_time: int) -> None:
        if slew_settle_time < 0:
            raise InvalidValue("SlewSettleTime must be >= 0 seconds")
        self._settle_s = slew_settle_time

    # -- site and time --------------------------------------------------------------------

    @get("sitelatitude")
    def get_site_latitude(self) -> float:
        return self._latitude_deg

    @put("sitelatitude")
    def set_site_latitude(self, site_latitude: float) -> None:
        if not -90.0 <= site_latitude <= 90.0:
            raise InvalidValue(f"latitude {site_latitude} is outside [-90, 90]")
        self._latitude_deg = site_latitude

    @get("sitelongitude")
    def get_site_longitude(self) -> float:
        return self._longitude_deg

    @put("sitelongitude")
    def set_site_longitude(self, site_longitude: float) -> None:
        if not -180.0 <= site_longitude <= 180.0:
            raise InvalidValue(f"longitude {site_longitude} is outside [-180, 180]")
        self._longitude_deg = site_longitude

    @get("siteelevation")
    def get_site_elevation(self) -> float:
        return self._elevation_m

    @put("siteelevation")
    def set_site_elevation(self, site_elevation: float) -> None:
        if not -300.0 <= site_elevation <= 10000.0:
            raise InvalidValue(f"elevation {site_elevation} m is outside [-300, 10000]")
        self._elevation_m = site_elevation

    @get("siderealtime")
    def get_sidereal_time(self) -> float:
        return self.lst_deg() / 15.0

    @get("utcdate")
    def get_utc_date(self) -> str:
        stamp = self.clock.utc_now().isoformat(timespec="milliseconds")
        return stamp.replace("+00:00", "Z")

    # -- position -------------------------------------------------------------------------

    @get("rightascension")
    def get_right_ascension(self) -> float:
        return self.reported_radec_deg()[0] / 15.0

    @get("declination")
    def get_declination(self) -> float:
        return self.reported_radec_deg()[1]

    @get("altitude")
    def get_altitude(self) -> float:
        return self._altaz()[0]

    @get("azimuth")
    def get_azimuth(self) -> float:
        return self._altaz()[1]

    @get("sideofpier")
    def get_side_of_pier(self) -> int:
        return self._pier_side

    @get("destinationsideofpier")
    def get_destination_side_of_pier(self, right_ascension: float, declination: float) -> int:
        self._check_radec(right_ascension, declination)
        return pier_side_for(self.lst_deg() - right_ascension * 15.0)

    @get("slewing")
    def get_slewing(self) -> bool:
        return self.slewing

    @get("atpark")
    def get_at_park(self) -> bool:
        return self.at_park

    @get("athome")
    def get_at_home(self) -> bool:
        return self._homing and not self.slewing

    @get("ispulseguiding")
    def get_is_pulse_guiding(self) -> bool:
        return self.clock.now_s() < self._pulse_until_s

    # -- targets --------------------------------------------------------------------------

    @get("targetrightascension")
    def get_target_ra(self) -> float:
        if self._target_ra_h is None:
            raise ValueNotSet("TargetRightAscension has not been set")
        return self._target_ra_h

    @put("targetrightascension")
    def set_target_ra(self, target_right_ascension: float) -> None:
        if not 0.0 <= target_right_ascension < 24.0:
            raise InvalidValue(f"right ascension {target_right_ascension} h is outside [0, 24)")
        self._target_ra_h = target_right_ascension

    @get("targetdeclination")
    def get_target_dec(self) -> float:
        if self._target_dec_deg is None:
            raise ValueNotSet("TargetDeclination has not been set")
        return self._target_dec_deg

    @put("targetdeclination")
    def set_target_dec(self, target_declination: float) -> None:
        if not -90.0 <= target_declination <= 90.0:
            raise InvalidValue(f"declination {target_declination} is outside [-90, 90]")
        self._target_dec_deg = target_declination

    # -- tracking, park, home -------------------------------------------------------------

    @get("tracking")
    def get_tracking(self) -> bool:
        return self._axes.tracking

    @put("tracking")
    def set_tracking(self, tracking: bool) -> None:
        if tracking:
            self._refuse_if_parked("Tracking = true")
            if self._park_commanded:
                # Tracking would carry the park position off with the sky.
                raise InvalidOperation("Tracking = true is refused while the mount parks")
        self._axes = self._axes.with_tracking(tracking, self.clock.now_s(), self.lst_deg())

    @put("park")
    def park(self) -> None:
        if self._park_commanded:
            return  # parked or on the way there: repeating is harmless
        self._homing = False
        self._axes = self._axes.with_tracking(False, self.clock.now_s(), self.lst_deg())
        self._start_slew(*self._park)
        self._park_commanded = True

    @put("unpark")
    def unpark(self) -> None:
        if self._park_commanded and self.slewing:
            self._axes = self._axes.halted(self.clock.now_s())
            self._settle_until_s = -math.inf
        self._park_commanded = False

    @put("setpark")
    def set_park(self) -> None:
        self._park = self._axes.hadec(self.clock.now_s(), self.lst_deg())

    @put("findhome")
    def find_home(self) -> None:
        self._refuse_if_parked("FindHome")
        self._axes = self._axes.with_tracking(False, self.clock.now_s(), self.lst_deg())
        self._start_slew(self.settings.home_hour_angle_deg, self.settings.home_declination_deg)
        self._homing = True

    # -- slews ----------------------------------------------------------------------------

    @put("slewtocoordinatesasync")
    def slew_to_coordinates_async(self, right_ascension: float, declination: float) -> None:
        self._check_radec(right_ascension, declination)
        self._slew_equatorial(right_ascension, declination)
        self._target_ra_h, self._target_dec_deg = right_ascension, declination

    @put("slewtotargetasync")
    def slew_to_target_async(self) -> None:
        self._refuse_if_parked("SlewToTargetAsync")
        if self._target_ra_h is None or self._target_dec_deg is None:
            raise ValueNotSet("set TargetRightAscension and TargetDeclination first")
        self._slew_equatorial(self._target_ra_h, self._target_dec_deg)

    @put("slewtoaltazasync")
    def slew_to_altaz_async(self, azimuth: float, altitude: float) -> None:
        self._refuse_if_parked("SlewToAltAzAsync")
        self._check_altaz(azimuth, altitude)
        if self._axes.tracking:
            raise InvalidOperation("SlewToAltAzAsync needs Tracking off")
        self._refuse_below_horizon(altitude)
        ha, dec = altaz_to_hadec(altitude, azimuth, self._latitude_deg)
        self._start_slew(ha, dec)

    @put("abortslew")
    def abort_slew(self) -> None:
        self._refuse_if_parked("AbortSlew")
        now_s = self.clock.now_s()
        self._axes = self._axes.halted(now_s)
        self._settle_until_s = -math.inf
        self._homing = False
        self._park_commanded = False  # a park stopped on its way leaves the mount unparked

    @put("moveaxis")
    def move_axis(self, axis: int, rate: float) -> None:
        self._refuse_if_parked("MoveAxis")
        self._check_axis_number(axis)
        if axis == 2:  # CanMoveAxis(2) is false: ConformU expects NotImplemented here
            raise NotImplementedAscom("this mount has no tertiary axis to move")
        if abs(rate) > self.settings.slew_rate_deg_s:
            raise InvalidValue(f"|rate| {rate} exceeds {self.settings.slew_rate_deg_s} deg/s")
        self._homing = False
        self._park_commanded = False
        self._axes = self._axes.move_axis(axis, rate, self.clock.now_s())

    @put("pulseguide")
    def pulse_guide(self, direction: int, duration: int) -> None:
        self._refuse_if_parked("PulseGuide")
        if direction not in GUIDE_DIRECTIONS:
            raise InvalidValue(f"guide direction {direction} is not 0..3 (N, S, E, W)")
        if duration < 0:
            raise InvalidValue("guide duration must be >= 0 ms")
        if self.slewing:
            raise InvalidOperation("PulseGuide is refused while slewing")
        now_s = self.clock.now_s()
        east, north = GUIDE_DIRECTIONS[direction]
        ra, dec = self.reported_radec_deg()
        step_ra = east * self._guide_rates[0] * duration / 1000.0
        ra += step_ra / max(math.cos(math.radians(dec)), 1e-6)
        dec = max(-90.0, min(90.0, dec + north * self._guide_rates[1] * duration / 1000.0))
        tracking = self._axes.tracking
        primary = ra if tracking else self.lst_deg() - ra
        self._axes = Axes.at_rest(primary, dec, tracking=tracking, now_s=now_s)
        self._pulse_until_s = now_s + duration / 1000.0

    # -- syncs ----------------------------------------------------------------------------

    @put("synctocoordinates")
    def sync_to_coordinates(self, right_ascension: float, declination: float) -> None:
        self._check_radec(right_ascension, declination)
        self._sync(right_ascension, declination)
        self._target_ra_h, self._target_dec_deg = right_ascension, declination

    @put("synctotarget")
    def sync_to_target(self) -> None:
        self._refuse_if_parked("SyncToTarget")
        if self._target_ra_h is None or self._target_dec_deg is None:
            raise ValueNotSet("set TargetRightAscension and TargetDeclination first")
        self._sync(self._target_ra_h, self._target_dec_deg)

    def _sync(self, ra_h: float, dec_deg: float) -> None:
        self._refuse_if_parked("Sync")
        if not self._axes.tracking:
            raise InvalidOperation("syncing to equatorial coordinates needs Tracking on")
        if self.slewing:
            raise InvalidOperation("Sync is refused while slewing")
        true_deg = self.true_pointing()
        now_s = self.clock.now_s()
        self._axes = Axes.at_rest(ra_h * 15.0, dec_deg, tracking=True, now_s=now_s)
        self.pointing.sync(self._j2000(ra_h * 15.0, dec_deg), true_deg)

    # -- mechanism ------------------------------------------------------------------------

    def _slew_equatorial(self, ra_h: float, dec_deg: float) -> None:
        self._refuse_if_parked("SlewToCoordinates")
        if not self._axes.tracking:
            raise InvalidOperation("equatorial slews need Tracking on")
        ha_deg = self.lst_deg() - ra_h * 15.0
        self._refuse_below_horizon(hadec_to_altaz(ha_deg, dec_deg, self._latitude_deg)[0])
        self._start_slew(ra_h * 15.0, dec_deg)

    def _start_slew(self, primary_deg: float, dec_deg: float) -> None:
        """Slew the axes to (RA or HA as the frame is, Dec); Slewing is true at once.
        Any slew replaces a park under way (Park sets its flag after this)."""
        now_s = self.clock.now_s()
        rate = self.settings.slew_rate_deg_s
        self._homing = False
        self._park_commanded = False
        self._axes = self._axes.slew(primary_deg, dec_deg, rate, now_s)
        arrival_s = now_s + max(self._axes.primary.duration_s(), self._axes.secondary.duration_s())
        self._settle_until_s = arrival_s + self._settle_s
        lst_at_arrival_deg = self.lst_deg() + (arrival_s - now_s) * SIDEREAL_RATE_DEG_S
        ha_deg = lst_at_arrival_deg - primary_deg if self._axes.tracking else primary_deg
        self._pier_side = pier_side_for(ha_deg)
        self.pointing.new_slew()

    def _refuse_if_parked(self, command: str) -> None:
        if self.at_park:
            raise InvalidWhileParked(f"{command} is refused while the mount is parked")

    def _refuse_below_horizon(self, altitude_deg: float) -> None:
        if altitude_deg < self.settings.horizon_limit_deg:
            raise InvalidValue(
                f"target altitude {altitude_deg:.1f} deg is below the limit "
                f"{self.settings.horizon_limit_deg} deg"
            )

    @staticmethod
    def _check_radec(ra_h: float, dec_deg: float) -> None:
        if not 0.0 <= ra_h < 24.0:
            raise InvalidValue(f"right ascension {ra_h} h is outside [0, 24)")
        if not -90.0 <= dec_deg <= 90.0:
            raise InvalidValue(f"declination {dec_deg} is outside [-90, 90]")

    @staticmethod
    def _check_altaz(azimuth: float, altitude: float) -> None:
        if not 0.0 <= azimuth < 360.0:
            raise InvalidValue(f"azimuth {azimuth} is outside [0, 360)")
        if not -90.0 <= altitude <= 90.0:
            raise InvalidValue(f"altitude {altitude} is outside [-90, 90]")

    @staticmethod
    def _check_axis_number(axis: int) -> None:
        if axis not in (0, 1, 2):
            raise InvalidValue(f"axis {axis} is not 0, 1 or 2")

    @staticmethod
    def _check_guide_rate(rate_deg_s: float) -> None:
        if not 0.0 < rate_deg_s <= SIDEREAL_RATE_DEG_S:
            raise InvalidValue(f"guide rate {rate_deg_s} deg/s is outside (0, sidereal]")

    # -- ground truth ---------------------------------------------------------------------

    def truth(self) -> dict[str, Any]:
        """True (J2000) and reported (the mount's equatorial system) pointing, for tests."""
        ra, dec = self.reported_radec_deg()
        true_ra, true_dec = self.true_pointing()
        east, north = self.pointing.error_arcsec
        lst = self.lst_deg()
        return {
            "reported_ra_deg": ra,
            "reported_dec_deg": dec,
            "true_ra_deg": true_ra,
            "true_dec_deg": true_dec,
            "pointing_error_east_arcsec": east,
            "pointing_error_north_arcsec": north,
            "hour_angle_deg": signed_hour_angle_deg(lst - ra),
            "lst_hours": lst / 15.0,
            "tracking": self._axes.tracking,
            "slewing": self.slewing,
            "at_park": self.at_park,
            "side_of_pier": self._pier_side,
            "focal_length_m": self.settings.focal_length_m,
            "equatorial_system": self.settings.equatorial_system,
        }

    @action("simulator:truth")
    def action_truth(self, parameters: str) -> str:
        return json.dumps(self.truth())

    def ground_truth(self) -> dict[str, Any]:
        return {**super().ground_truth(), **self.truth(), "park_hadec_deg": list(self._park)}
