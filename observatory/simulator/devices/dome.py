"""A rotating dome with a shutter (IDomeV3): azimuth, shutter altitude and shutter motion.

Rates default to the ASCOM reference simulator: azimuth 12 deg/s, altitude 30 deg/s, a
shutter that takes 8 s, park at 180 deg, home at 0 deg. Every command returns at once
and the state already shows the motion; ``Slewing`` is true while the azimuth, the
altitude or the shutter moves. Commands are absolute and safe to repeat.

Device-specific fault: ``{"kind": "stuck_shutter", "mode": "moving" | "error",
"at_fraction": 0.5}`` jams every later shutter motion (and the one under way) at
``at_fraction`` open: ``moving`` stays Opening/Closing for ever, ``error`` stops there and
reports ShutterStatus Error. ``{"kind": "clear"}`` repairs it.

``kind = "rolloff"`` in the settings makes it a roll-off roof: a shutter only. Its
CanSetAzimuth, CanSetAltitude, CanPark, CanSetPark, CanFindHome, CanSyncAzimuth and
CanSlave are false, and Azimuth, Altitude, AtPark, AtHome and the commands that need them
answer 0x400 NotImplemented, as the Dome interface allows such a roof to.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from observatory.simulator.devices.base import Device, DeviceSettings, get, put
from observatory.simulator.errors import InvalidValue, InvalidWhileSlaved, NotImplementedAscom
from observatory.simulator.motion import Travel, shortest_delta_deg, wrap_deg

# Azimuth within this of the commanded position counts as "there" for a slaved dome.
SLAVE_TOLERANCE_DEG = 1.0


class ShutterStatus(IntEnum):
    OPEN = 0
    CLOSED = 1
    OPENING = 2
    CLOSING = 3
    ERROR = 4


class DomeSettings(DeviceSettings):
    # "rolloff": a roof with a shutter only, no azimuth, altitude, park or home.
    kind: Literal["dome", "rolloff"] = "dome"
    azimuth_rate_deg_s: float = Field(default=12.0, gt=0)
    altitude_rate_deg_s: float = Field(default=30.0, gt=0)
    shutter_time_s: float = Field(default=8.0, gt=0)
    park_azimuth_deg: float = Field(default=180.0, ge=0, lt=360)
    home_azimuth_deg: float = Field(default=0.0, ge=0, lt=360)
    start_azimuth_deg: float = Field(default=180.0, ge=0, lt=360)
    start_altitude_deg: float = Field(default=0.0, ge=0, le=90)
    start_shutter_open: bool = False


class StuckShutterFault(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["stuck_shutter"]
    mode: Literal["moving", "error"] = "moving"
    at_fraction: float = Field(default=0.5, gt=0, lt=1)


class Dome(Device):
    device_type = "dome"
    default_name = "Simulated Dome"
    default_description = "Rotating dome with an up-and-over shutter"
    settings_model = DomeSettings
    device_state_members = (
        ("Altitude", "altitude"),
        ("AtHome", "athome"),
        ("AtPark", "atpark"),
        ("Azimuth", "azimuth"),
        ("ShutterStatus", "shutterstatus"),
        ("Slewing", "slewing"),
    )
    settings: DomeSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._stuck: StuckShutterFault | None = None
        super().__init__(*args, **kwargs)
        now_s = self.clock.now_s()
        cfg = self.settings
        self._azimuth = Travel.at_rest(cfg.start_azimuth_deg, now_s, circular=True)
        self._altitude = Travel.at_rest(cfg.start_altitude_deg, now_s)
        self._shutter = Travel.at_rest(1.0 if cfg.start_shutter_open else 0.0, now_s)
        self._park_azimuth_deg = cfg.park_azimuth_deg
        self._parking = cfg.start_azimuth_deg == cfg.park_azimuth_deg
        self._homing = False
        self._slaved = False

    # -- attributes other simulated devices read ----------------------------------------

    @property
    def azimuth_deg(self) -> float:
        """Present azimuth of the slit, degrees [0, 360)."""
        self._follow_mount()
        return self._azimuth.position(self.clock.now_s())

    @property
    def shutter_open(self) -> bool:
        """True only when the shutter is fully open."""
        return self.shutter_status is ShutterStatus.OPEN

    @property
    def shutter_status(self) -> ShutterStatus:
        now_s = self.clock.now_s()
        if self._shutter.moving(now_s):
            opening = self._shutter.target > self._shutter.start
            return ShutterStatus.OPENING if opening else ShutterStatus.CLOSING
        fraction = self._shutter.position(now_s)
        if fraction >= 1.0:
            return ShutterStatus.OPEN
        if fraction <= 0.0:
            return ShutterStatus.CLOSED
        return ShutterStatus.ERROR  # stopped part-way: position unknown to the operator

    # -- capabilities -----------------------------------------------------------------

    @property
    def rolloff(self) -> bool:
        """True for a roll-off roof: a shutter only."""
        return self.settings.kind == "rolloff"

    @get("canfindhome")
    @get("canpark")
    @get("cansetaltitude")
    @get("cansetazimuth")
    @get("cansetpark")
    @get("cansyncazimuth")
    def get_can(self) -> bool:
        return not self.rolloff

    @get("cansetshutter")
    def get_can_set_shutter(self) -> bool:
        return True

    @get("canslave")
    def get_can_slave(self) -> bool:
        return not self.rolloff and self._mount_azimuth_deg() is not None

    # -- state ------------------------------------------------------------------------

    @get("azimuth")
    def get_azimuth(self) -> float:
        self._refuse_if_rolloff("Azimuth")
        return self.azimuth_deg

    @get("altitude")
    def get_altitude(self) -> float:
        self._refuse_if_rolloff("Altitude")
        return self._altitude.position(self.clock.now_s())

    @get("shutterstatus")
    def get_shutter_status(self) -> int:
        return int(self.shutter_status)

    @get("slewing")
    def get_slewing(self) -> bool:
        self._follow_mount()
        now_s = self.clock.now_s()
        return any(t.moving(now_s) for t in (self._azimuth, self._altitude, self._shutter))

    @get("atpark")
    def get_at_park(self) -> bool:
        self._refuse_if_rolloff("AtPark")
        return self._parking and self._azimuth.arrived(self.clock.now_s())

    @get("athome")
    def get_at_home(self) -> bool:
        self._refuse_if_rolloff("AtHome")
        return self._homing and self._azimuth.arrived(self.clock.now_s())

    @get("slaved")
    def get_slaved(self) -> bool:
        return self._slaved

    # -- commands ---------------------------------------------------------------------

    @put("slaved")
    def set_slaved(self, slaved: bool) -> None:
        if slaved and self.rolloff:
            self._refuse_if_rolloff("Slaved = true")
        if slaved and self._mount_azimuth_deg() is None:
            raise NotImplementedAscom("CanSlave is false: there is no mount to slave the dome to")
        self._slaved = slaved
        if slaved:
            self._parking = self._homing = False
            self._follow_mount()

    @put("slewtoazimuth")
    def slew_to_azimuth(self, azimuth: float) -> None:
        self._refuse_if_rolloff("SlewToAzimuth")
        self._check_azimuth(azimuth)
        self._refuse_if_slaved("SlewToAzimuth")
        self._parking = self._homing = False
        self._rotate_to(azimuth)

    @put("slewtoaltitude")
    def slew_to_altitude(self, altitude: float) -> None:
        self._refuse_if_rolloff("SlewToAltitude")
        if not 0.0 <= altitude <= 90.0:
            raise InvalidValue(f"altitude {altitude} is outside [0, 90] degrees")
        now_s = self.clock.now_s()
        start = self._altitude.position(now_s)
        self._altitude = Travel(start, altitude, self.settings.altitude_rate_deg_s, now_s)

    @put("synctoazimuth")
    def sync_to_azimuth(self, azimuth: float) -> None:
        self._refuse_if_rolloff("SyncToAzimuth")
        self._check_azimuth(azimuth)
        self._parking = self._homing = False
        self._azimuth = Travel.at_rest(azimuth, self.clock.now_s(), circular=True)

    @put("park")
    def park(self) -> None:
        self._refuse_if_rolloff("Park")
        self._refuse_if_slaved("Park")
        if self._parking:
            return
        self._homing = False
        self._parking = True
        self._rotate_to(self._park_azimuth_deg)

    @put("setpark")
    def set_park(self) -> None:
        self._refuse_if_rolloff("SetPark")
        self._park_azimuth_deg = self.azimuth_deg

    @put("findhome")
    def find_home(self) -> None:
        self._refuse_if_rolloff("FindHome")
        self._refuse_if_slaved("FindHome")
        if self._homing:
            return
        self._parking = False
        self._homing = True
        self._rotate_to(self.settings.home_azimuth_deg)

    @put("abortslew")
    def abort_slew(self) -> None:
        """Stops azimuth, altitude and shutter where they are, and ends slaving."""
        now_s = self.clock.now_s()
        if self._azimuth.moving(now_s):
            self._parking = self._homing = False
        self._azimuth = self._azimuth.halted(now_s)
        self._altitude = self._altitude.halted(now_s)
        self._shutter = self._shutter.halted(now_s)
        self._slaved = False

    @put("openshutter")
    def open_shutter(self) -> None:
        self._move_shutter(1.0)

    @put("closeshutter")
    def close_shutter(self) -> None:
        self._move_shutter(0.0)

    # -- mechanism --------------------------------------------------------------------

    def _check_azimuth(self, azimuth: float) -> None:
        if not 0.0 <= azimuth < 360.0:
            raise InvalidValue(f"azimuth {azimuth} is outside [0, 360) degrees")

    def _refuse_if_rolloff(self, member: str) -> None:
        if self.rolloff:
            raise NotImplementedAscom(f"{member} is not implemented by a roll-off roof")

    def _refuse_if_slaved(self, command: str) -> None:
        if self._slaved:
            raise InvalidWhileSlaved(f"{command} is refused while the dome is slaved")

    def _rotate_to(self, azimuth_deg: float) -> None:
        now_s = self.clock.now_s()
        if self._azimuth.moving(now_s) and self._azimuth.target == wrap_deg(azimuth_deg):
            return
        start = self._azimuth.position(now_s)
        rate = self.settings.azimuth_rate_deg_s
        self._azimuth = Travel(start, wrap_deg(azimuth_deg), rate, now_s, circular=True)

    def _move_shutter(self, target: float, restart: bool = False) -> None:
        now_s = self.clock.now_s()
        start = self._shutter.position(now_s)
        moving = self._shutter.moving(now_s)
        if not moving and start == target:
            return
        if (
            moving
            and self._shutter.target == target
            and self._shutter.stop_at is None
            and not restart
        ):
            return  # already on its way there (a jammed shutter gets a fresh try)
        rate = 1.0 / self.settings.shutter_time_s
        stuck = self._stuck
        if stuck is None:
            self._shutter = Travel(start, target, rate, now_s)
            return
        # The jam point lies ahead of the shutter, or where it stands.
        jam = max(start, stuck.at_fraction) if target > start else min(start, stuck.at_fraction)
        if stuck.mode == "moving":
            self._shutter = Travel(start, target, rate, now_s, stop_at=jam)
        else:
            self._shutter = Travel(start, jam, rate, now_s)

    def _mount_azimuth_deg(self) -> float | None:
        """Azimuth the mount points at (``observatory.telescope.azimuth_deg``), if known."""
        mount = getattr(self._observatory, "telescope", None) if self._observatory else None
        azimuth = getattr(mount, "azimuth_deg", None)
        return float(azimuth) if azimuth is not None else None

    def _follow_mount(self) -> None:
        """A slaved dome turns towards the mount whenever it has drifted off."""
        if not self._slaved:
            return
        mount_deg = self._mount_azimuth_deg()
        if mount_deg is None:
            return
        if abs(shortest_delta_deg(self._azimuth.target, mount_deg)) > SLAVE_TOLERANCE_DEG:
            self._rotate_to(mount_deg)

    # -- faults and ground truth ------------------------------------------------------

    def apply_fault(self, spec: dict[str, Any]) -> None:
        kind = spec.get("kind")
        if kind == "stuck_shutter":
            try:
                self._stuck = StuckShutterFault.model_validate(spec)
            except ValidationError as error:
                raise InvalidValue(f"bad fault {spec!r}: {error}") from error
            now_s = self.clock.now_s()
            if self._shutter.moving(now_s):
                self._move_shutter(self._shutter.target, restart=True)
            return
        if kind == "clear":
            self._stuck = None
        super().apply_fault(spec)

    def describe_faults(self) -> list[dict[str, Any]]:
        stuck = [self._stuck.model_dump()] if self._stuck else []
        return super().describe_faults() + stuck

    def ground_truth(self) -> dict[str, Any]:
        now_s = self.clock.now_s()
        return {
            **super().ground_truth(),
            "azimuth_deg": self.azimuth_deg,
            "target_azimuth_deg": self._azimuth.target,
            "altitude_deg": self._altitude.position(now_s),
            "shutter_open_fraction": self._shutter.position(now_s),
            "shutter_status": self.shutter_status.name.lower(),
            "park_azimuth_deg": self._park_azimuth_deg,
            "slaved": self._slaved,
            "faults": self.describe_faults(),
        }
