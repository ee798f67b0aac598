"""A filter wheel (IFilterWheelV3): named filters, focus offsets and a finite move time.

``Position`` reads -1 while the wheel turns; the wheel takes the short way round at
``slot_move_time_s`` per slot. Device-specific fault: ``{"kind": "stuck_wheel"}`` makes
every later move (and the one under way) never arrive; ``{"kind": "clear"}`` repairs it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from observatory.simulator.devices.base import Device, DeviceSettings, get, put
from observatory.simulator.errors import InvalidValue
from observatory.simulator.motion import Travel


class FilterWheelSettings(DeviceSettings):
    names: list[str] = Field(default_factory=lambda: ["L", "R", "G", "B", "Ha"], min_length=1)
    # Focuser steps to add for each filter, relative to the first.
    focus_offsets: list[int] = Field(default_factory=lambda: [0, 12, 10, 15, -30])
    slot_move_time_s: float = Field(default=0.8, gt=0)
    start_position: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> FilterWheelSettings:
        if len(self.focus_offsets) != len(self.names):
            raise ValueError("names and focus_offsets must have the same length")
        if self.start_position >= len(self.names):
            raise ValueError("start_position must be a slot of the wheel")
        return self


class FilterWheel(Device):
    device_type = "filterwheel"
    default_name = "Simulated Filter Wheel"
    default_description = "Motorised filter wheel"
    settings_model = FilterWheelSettings
    device_state_members = (("Position", "position"),)
    settings: FilterWheelSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._stuck = False
        super().__init__(*args, **kwargs)
        # Wheel angle in slot units, not wrapped: slot = round(value) mod slot count.
        self._wheel = Travel.at_rest(float(self.settings.start_position), self.clock.now_s())

    @property
    def slot_count(self) -> int:
        return len(self.settings.names)

    @property
    def position(self) -> int | None:
        """The slot in the beam, or None while the wheel turns."""
        now_s = self.clock.now_s()
        if self._wheel.moving(now_s):
            return None
        return round(self._wheel.position(now_s)) % self.slot_count

    @property
    def current_filter_name(self) -> str | None:
        """Name of the filter in the beam, or None while the wheel turns."""
        position = self.position
        return None if position is None else self.settings.names[position]

    @get("names")
    def get_names(self) -> list[str]:
        return list(self.settings.names)

    @get("focusoffsets")
    def get_focus_offsets(self) -> list[int]:
        return list(self.settings.focus_offsets)

    @get("position")
    def get_position(self) -> int:
        position = self.position
        return -1 if position is None else position

    @put("position")
    def set_position(self, position: int) -> None:
        if not 0 <= position < self.slot_count:
            raise InvalidValue(f"position {position} is not a slot (0..{self.slot_count - 1})")
        self._turn_to(position)

    def _turn_to(self, slot: int) -> None:
        now_s = self.clock.now_s()
        here = self._wheel.position(now_s)
        if self._wheel.moving(now_s):
            on_its_way = round(self._wheel.target) % self.slot_count == slot
            if on_its_way and self._wheel.stop_at is None:
                return  # (a jammed wheel gets a fresh try)
        elif round(here) % self.slot_count == slot:
            return
        delta = (slot - here) % self.slot_count
        if delta > self.slot_count / 2:
            delta -= self.slot_count
        rate = 1.0 / self.settings.slot_move_time_s
        jam = here + delta / 2 if self._stuck else None
        self._wheel = Travel(here, here + delta, rate, now_s, stop_at=jam)

    def apply_fault(self, spec: dict[str, Any]) -> None:
        kind = spec.get("kind")
        if kind == "stuck_wheel":
            if set(spec) != {"kind"}:
                raise InvalidValue(f"stuck_wheel takes no parameters: {spec!r}")
            self._stuck = True
            now_s = self.clock.now_s()
            if self._wheel.moving(now_s) and self._wheel.stop_at is None:
                here = self._wheel.position(now_s)
                rate = self._wheel.rate_per_s
                self._wheel = Travel(here, self._wheel.target, rate, now_s, stop_at=here)
            return
        if kind == "clear":
            self._stuck = False
        super().apply_fault(spec)

    def describe_faults(self) -> list[dict[str, Any]]:
        stuck = [{"kind": "stuck_wheel"}] if self._stuck else []
        return super().describe_faults() + stuck

    def ground_truth(self) -> dict[str, Any]:
        return {
            **super().ground_truth(),
            "position": self.position,
            "filter_name": self.current_filter_name,
            "wheel_slot_angle": self._wheel.position(self.clock.now_s()) % self.slot_count,
            "faults": self.describe_faults(),
        }
