"""The thermoelectric cooler: sensor temperature approaches its set point at a finite rate.

The cooler can hold the sensor at most ``max_delta_k`` below ambient; switched off, the
sensor drifts back to ambient at the same rate. Evaluated lazily from simulated time.
"""

from __future__ import annotations

from dataclasses import dataclass

from observatory.simulator.motion import Travel


@dataclass(frozen=True)
class CoolerSpec:
    ambient_c: float = 10.0
    rate_k_per_s: float = 0.1
    max_delta_k: float = 40.0


class Cooler:
    """Sensor temperature (Celsius) under a cooler; ``now_s`` is simulated seconds."""

    def __init__(self, spec: CoolerSpec, now_s: float) -> None:
        self.spec = spec
        self.on = False
        self.set_point_c = spec.ambient_c
        self._travel = Travel.at_rest(spec.ambient_c, now_s)

    def temperature_c(self, now_s: float) -> float:
        return self._travel.position(now_s)

    def _retarget(self, now_s: float) -> None:
        target = self.spec.ambient_c
        if self.on:
            target = max(self.set_point_c, self.spec.ambient_c - self.spec.max_delta_k)
        self._travel = Travel(self.temperature_c(now_s), target, self.spec.rate_k_per_s, now_s)

    def switch(self, on: bool, now_s: float) -> None:
        self.on = on
        self._retarget(now_s)

    def set_point(self, temperature_c: float, now_s: float) -> None:
        self.set_point_c = temperature_c
        self._retarget(now_s)

    def power_percent(self, now_s: float) -> float:
        """100 while pulling down; otherwise in proportion to the held difference."""
        if not self.on:
            return 0.0
        if self._travel.moving(now_s) and self._travel.target < self._travel.start:
            return 100.0
        held_k = self.spec.ambient_c - self.temperature_c(now_s)
        return max(0.0, min(100.0, 100.0 * held_k / self.spec.max_delta_k))
