"""An absolute focuser (IFocuserV4) whose best position drifts with temperature.

The draw tube moves at ``speed_steps_per_s``; ``IsMoving`` is true meanwhile and
``Position`` reads where it is on the way. The temperature starts at
``start_temperature_c`` and drifts by ``temperature_drift_k_per_h`` (the Action
``simulator:set_temperature`` sets it for tests). The position of best focus is
``best_position_at_reference`` plus ``temperature_coefficient_steps_per_k`` per kelvin
away from ``reference_temperature_c``, plus the filter wheel's focus offset of the filter
in the beam. With ``TempComp`` on, the focuser follows the temperature by itself at that
same coefficient (as a well-calibrated real one does).

The camera reads :meth:`Focuser.defocus_steps` at the start of each exposure: the
defocused star is a disc of diameter ``|offset| * step_size_um / f_ratio`` on the sensor,
added in quadrature to the seeing (see :func:`defocus_blur_um`).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from observatory.simulator.devices.base import Device, DeviceSettings, action, get, put
from observatory.simulator.errors import InvalidValue, NotImplementedAscom
from observatory.simulator.motion import Travel


class FocuserSettings(DeviceSettings):
    max_step: int = Field(default=60000, gt=0)
    max_increment: int = Field(default=60000, gt=0)
    step_size_um: float = Field(default=4.0, gt=0)
    speed_steps_per_s: float = Field(default=1000.0, gt=0)
    start_position: int = Field(default=30100, ge=0)
    best_position_at_reference: int = Field(default=30150, ge=0)
    reference_temperature_c: float = 10.0
    temperature_coefficient_steps_per_k: float = -3.0
    start_temperature_c: float = 10.0
    temperature_drift_k_per_h: float = -0.5
    temp_comp_available: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> FocuserSettings:
        if self.max_increment > self.max_step:
            raise ValueError("max_increment must not exceed max_step")
        if self.start_position > self.max_step:
            raise ValueError("start_position must be within 0..max_step")
        return self


def defocus_blur_um(offset_steps: float, step_size_um: float, f_ratio: float) -> float:
    """Diameter (micrometres) of the disc a point source makes ``offset_steps`` away from
    focus, for a focuser of ``step_size_um`` on an ``f_ratio`` beam."""
    return abs(offset_steps) * step_size_um / f_ratio


class Focuser(Device):
    device_type = "focuser"
    default_name = "Simulated Focuser"
    default_description = "Absolute focuser with temperature sensor"
    settings_model = FocuserSettings
    device_state_members = (
        ("IsMoving", "ismoving"),
        ("Position", "position"),
        ("Temperature", "temperature"),
    )
    settings: FocuserSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        now_s = self.clock.now_s()
        self._tube = Travel.at_rest(float(self.settings.start_position), now_s)
        self._temperature_set: tuple[float, float] | None = None  # (value_c, at_s)
        self._temp_comp_from_c: float | None = None  # temperature when TempComp went on

    # -- the physics ----------------------------------------------------------------------

    def temperature_c(self) -> float:
        now_s = self.clock.now_s()
        start_c, at_s = self._temperature_set or (self.settings.start_temperature_c, 0.0)
        return start_c + self.settings.temperature_drift_k_per_h * (now_s - at_s) / 3600.0

    def _compensation_steps(self) -> float:
        if self._temp_comp_from_c is None:
            return 0.0
        drift_k = self.temperature_c() - self._temp_comp_from_c
        return self.settings.temperature_coefficient_steps_per_k * drift_k

    def position_steps(self) -> float:
        """Where the draw tube is now (steps, unrounded), compensation included."""
        position = self._tube.position(self.clock.now_s()) + self._compensation_steps()
        return min(max(position, 0.0), float(self.settings.max_step))

    def best_position(self) -> float:
        """The position of best focus now, for the filter in the beam."""
        cfg = self.settings
        drift_k = self.temperature_c() - cfg.reference_temperature_c
        best = cfg.best_position_at_reference + cfg.temperature_coefficient_steps_per_k * drift_k
        return best + self._filter_offset_steps()

    def _filter_offset_steps(self) -> float:
        wheel = self._observatory.filterwheel if self._observatory is not None else None
        if wheel is None or wheel.position is None:
            return 0.0
        return float(wheel.settings.focus_offsets[wheel.position])

    def defocus_steps(self) -> float:
        """Steps between the draw tube and best focus (signed)."""
        return self.position_steps() - self.best_position()

    # -- ASCOM members --------------------------------------------------------------------

    @get("absolute")
    def get_absolute(self) -> bool:
        return True

    @get("ismoving")
    def get_is_moving(self) -> bool:
        return self._tube.moving(self.clock.now_s())

    @get("maxincrement")
    def get_max_increment(self) -> int:
        return self.settings.max_increment

    @get("maxstep")
    def get_max_step(self) -> int:
        return self.settings.max_step

    @get("position")
    def get_position(self) -> int:
        return round(self.position_steps())

    @get("stepsize")
    def get_step_size(self) -> float:
        return self.settings.step_size_um

    @get("tempcompavailable")
    def get_temp_comp_available(self) -> bool:
        return self.settings.temp_comp_available

    @get("tempcomp")
    def get_temp_comp(self) -> bool:
        return self._temp_comp_from_c is not None

    @put("tempcomp")
    def set_temp_comp(self, temp_comp: bool) -> None:
        if not self.settings.temp_comp_available:
            if temp_comp:
                raise NotImplementedAscom("this focuser has no temperature compensation")
            return
        if temp_comp == (self._temp_comp_from_c is not None):
            return
        # Fold the compensation so far into the tube, so Position does not jump.
        now_s = self.clock.now_s()
        here = self.position_steps()
        self._tube = Travel(here, self._tube.target + self._compensation_steps(),
                            self.settings.speed_steps_per_s, now_s)  # fmt: skip
        if not self._tube.moving(now_s):
            self._tube = Travel.at_rest(here, now_s)
        self._temp_comp_from_c = self.temperature_c() if temp_comp else None

    @get("temperature")
    def get_temperature(self) -> float:
        return round(self.temperature_c(), 2)

    @put("halt")
    def halt(self) -> None:
        now_s = self.clock.now_s()
        self._tube = Travel.at_rest(self._tube.position(now_s), now_s)

    @put("move")
    def move(self, position: int) -> None:
        cfg = self.settings
        if not 0 <= position <= cfg.max_step:
            raise InvalidValue(f"position {position} is outside 0..{cfg.max_step}")
        now_s = self.clock.now_s()
        here = self._tube.position(now_s)
        target = position - self._compensation_steps()
        if abs(target - here) > cfg.max_increment:
            raise InvalidValue(f"a move of {target - here:.0f} steps exceeds MaxIncrement")
        self._tube = Travel(here, target, cfg.speed_steps_per_s, now_s)

    @action("simulator:set_temperature")
    def action_set_temperature(self, parameters: str) -> str:
        """Parameter: degrees Celsius; the drift goes on from there."""
        try:
            value_c = float(parameters)
        except ValueError as error:
            raise InvalidValue(f"simulator:set_temperature expects a number: {error}") from error
        self._temperature_set = (value_c, self.clock.now_s())
        return f"{value_c:g}"

    def ground_truth(self) -> dict[str, Any]:
        return {
            **super().ground_truth(),
            "position_steps": self.position_steps(),
            "best_position_steps": self.best_position(),
            "defocus_steps": self.defocus_steps(),
            "temperature_c": self.temperature_c(),
            "temp_comp": self._temp_comp_from_c is not None,
        }
