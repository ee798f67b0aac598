"""A flat panel with a motorised cover (ICoverCalibratorV2).

The cover takes ``cover_move_time_s`` to open or close; the lamp takes ``warmup_time_s``
to reach the commanded brightness (CalibratorState NotReady, CalibratorChanging true).
``flat_illumination`` is what the camera sees: the lamp's fraction of MaxBrightness when
it is Ready and the cover is closed over the aperture, else 0.

Device-specific faults: ``{"kind": "stuck_cover", "mode": "moving" | "error"}`` jams
every later cover motion half-way (CoverState stays Moving, or becomes Error);
``{"kind": "lamp_failure"}`` makes the lamp report CalibratorState Error and give no
light. ``{"kind": "clear"}`` repairs both.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from observatory.simulator.devices.base import Device, DeviceSettings, get, put
from observatory.simulator.errors import InvalidValue, NotImplementedAscom
from observatory.simulator.motion import Travel


class CoverStatus(IntEnum):
    NOT_PRESENT = 0
    CLOSED = 1
    MOVING = 2
    OPEN = 3
    UNKNOWN = 4
    ERROR = 5


class CalibratorStatus(IntEnum):
    NOT_PRESENT = 0
    OFF = 1
    NOT_READY = 2
    READY = 3
    UNKNOWN = 4
    ERROR = 5


class CoverCalibratorSettings(DeviceSettings):
    cover_move_time_s: float = Field(default=12.0, gt=0)
    warmup_time_s: float = Field(default=2.0, ge=0)
    max_brightness: int = Field(default=255, ge=1)
    start_cover_open: bool = True
    # False: a cover without a lamp (CalibratorState NotPresent; the lamp's members
    # answer NotImplemented, as the spec prescribes).
    calibrator_present: bool = True


class StuckCoverFault(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["stuck_cover"]
    mode: Literal["moving", "error"] = "moving"


class CoverCalibrator(Device):
    device_type = "covercalibrator"
    default_name = "Simulated Flat Panel"
    default_description = "Flat-field panel with a motorised dust cover"
    settings_model = CoverCalibratorSettings
    device_state_members = (
        ("Brightness", "brightness"),
        ("CalibratorChanging", "calibratorchanging"),
        ("CalibratorState", "calibratorstate"),
        ("CoverMoving", "covermoving"),
        ("CoverState", "coverstate"),
    )
    settings: CoverCalibratorSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._stuck: StuckCoverFault | None = None
        self._lamp_failed = False
        super().__init__(*args, **kwargs)
        now_s = self.clock.now_s()
        # Cover opening as a fraction: 0 closed over the aperture, 1 fully open.
        self._cover = Travel.at_rest(1.0 if self.settings.start_cover_open else 0.0, now_s)
        self._brightness = 0
        self._lamp_ready_s = now_s

    # -- attributes other simulated devices read ----------------------------------------

    @property
    def cover_status(self) -> CoverStatus:
        now_s = self.clock.now_s()
        if self._cover.moving(now_s):
            return CoverStatus.MOVING
        fraction = self._cover.position(now_s)
        if fraction <= 0.0:
            return CoverStatus.CLOSED
        if fraction >= 1.0:
            return CoverStatus.OPEN
        return CoverStatus.ERROR if self._stuck else CoverStatus.UNKNOWN

    @property
    def calibrator_status(self) -> CalibratorStatus:
        if not self.settings.calibrator_present:
            return CalibratorStatus.NOT_PRESENT
        if self._lamp_failed:
            return CalibratorStatus.ERROR
        if self._brightness == 0:
            return CalibratorStatus.OFF
        if self.clock.now_s() < self._lamp_ready_s:
            return CalibratorStatus.NOT_READY
        return CalibratorStatus.READY

    @property
    def flat_illumination(self) -> float:
        """Lamp output on the aperture as a fraction of MaxBrightness (0 unless lit and closed)."""
        ready = self.calibrator_status is CalibratorStatus.READY
        if not ready or self.cover_status is not CoverStatus.CLOSED:
            return 0.0
        return self._brightness / self.settings.max_brightness

    # -- calibrator -------------------------------------------------------------------

    @get("brightness")
    def get_brightness(self) -> int:
        self._require_lamp("Brightness")
        return self._brightness

    @get("maxbrightness")
    def get_max_brightness(self) -> int:
        self._require_lamp("MaxBrightness")
        return self.settings.max_brightness

    def _require_lamp(self, member: str) -> None:
        if not self.settings.calibrator_present:
            raise NotImplementedAscom(f"{member}: this device has no calibrator lamp")

    @get("calibratorstate")
    def get_calibrator_state(self) -> int:
        return int(self.calibrator_status)

    @get("calibratorchanging")
    def get_calibrator_changing(self) -> bool:
        return self.calibrator_status is CalibratorStatus.NOT_READY

    @put("calibratoron")
    def calibrator_on(self, brightness: int) -> None:
        self._require_lamp("CalibratorOn")
        maximum = self.settings.max_brightness
        if not 0 <= brightness <= maximum:
            raise InvalidValue(f"brightness {brightness} is outside 0..{maximum}")
        if brightness == self._brightness:
            return
        self._brightness = brightness
        self._lamp_ready_s = self.clock.now_s() + self.settings.warmup_time_s

    @put("calibratoroff")
    def calibrator_off(self) -> None:
        self._require_lamp("CalibratorOff")
        self._brightness = 0

    # -- cover ------------------------------------------------------------------------

    @get("coverstate")
    def get_cover_state(self) -> int:
        return int(self.cover_status)

    @get("covermoving")
    def get_cover_moving(self) -> bool:
        return self.cover_status is CoverStatus.MOVING

    @put("opencover")
    def open_cover(self) -> None:
        self._move_cover(1.0)

    @put("closecover")
    def close_cover(self) -> None:
        self._move_cover(0.0)

    @put("haltcover")
    def halt_cover(self) -> None:
        self._cover = self._cover.halted(self.clock.now_s())

    def _move_cover(self, target: float, restart: bool = False) -> None:
        now_s = self.clock.now_s()
        here = self._cover.position(now_s)
        moving = self._cover.moving(now_s)
        if not moving and here == target:
            return
        if moving and self._cover.target == target and self._cover.stop_at is None and not restart:
            return  # already on its way there (a jammed cover gets a fresh try)
        rate = 1.0 / self.settings.cover_move_time_s
        if self._stuck is None:
            self._cover = Travel(here, target, rate, now_s)
            return
        jam = (here + target) / 2
        if self._stuck.mode == "moving":
            self._cover = Travel(here, target, rate, now_s, stop_at=jam)
        else:
            self._cover = Travel(here, jam, rate, now_s)

    # -- faults and ground truth ------------------------------------------------------

    def apply_fault(self, spec: dict[str, Any]) -> None:
        kind = spec.get("kind")
        if kind == "stuck_cover":
            try:
                self._stuck = StuckCoverFault.model_validate(spec)
            except ValidationError as error:
                raise InvalidValue(f"bad fault {spec!r}: {error}") from error
            if self._cover.moving(self.clock.now_s()):
                self._move_cover(self._cover.target, restart=True)
            return
        if kind == "lamp_failure":
            if set(spec) != {"kind"}:
                raise InvalidValue(f"lamp_failure takes no parameters: {spec!r}")
            self._lamp_failed = True
            return
        if kind == "clear":
            self._stuck = None
            self._lamp_failed = False
        super().apply_fault(spec)

    def describe_faults(self) -> list[dict[str, Any]]:
        extra: list[dict[str, Any]] = [self._stuck.model_dump()] if self._stuck else []
        if self._lamp_failed:
            extra.append({"kind": "lamp_failure"})
        return super().describe_faults() + extra

    def ground_truth(self) -> dict[str, Any]:
        return {
            **super().ground_truth(),
            "cover_open_fraction": self._cover.position(self.clock.now_s()),
            "cover_status": self.cover_status.name.lower(),
            "calibrator_status": self.calibrator_status.name.lower(),
            "brightness": self._brightness,
            "flat_illumination": self.flat_illumination,
            "faults": self.describe_faults(),
        }
