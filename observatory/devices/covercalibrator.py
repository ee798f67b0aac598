"""The flat panel: a calibrator lamp and, where fitted, a motorised dust cover.

A flat field needs the cover closed over the aperture and the lamp lit and stable;
lights need the lamp off and the cover open. Every command is absolute and safe to
repeat, and blocks until the device reports the commanded state.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from alpaca.covercalibrator import CoverCalibrator

from observatory.devices.alpaca_client import open_device
from observatory.errors import ConfigurationError, DeviceRefused, InvalidTarget
from observatory.settings import DeviceSettings, TelescopeSettings, get_settings

# CoverCalibrator interface version 2 is Platform 7 (asynchronous Connect).
COVERCALIBRATOR_PLATFORM7_VERSION = 2


class CoverState(enum.Enum):
    """ASCOM CoverStatus values."""

    NOT_PRESENT = 0
    CLOSED = 1
    MOVING = 2
    OPEN = 3
    UNKNOWN = 4
    ERROR = 5


class LampState(enum.Enum):
    """ASCOM CalibratorStatus values."""

    NOT_PRESENT = 0
    OFF = 1
    NOT_READY = 2
    READY = 3
    UNKNOWN = 4
    ERROR = 5


@dataclass(frozen=True)
class CoverCalibratorState:
    cover: CoverState
    lamp: LampState
    brightness: int

    def __str__(self) -> str:
        return (
            f"cover {self.cover.name.lower()}, lamp {self.lamp.name.lower()},"
            f" brightness {self.brightness}"
        )


class CoverCalibratorAdapter:
    """An Alpaca CoverCalibrator at ``devices.covercalibrator_address``, device
    ``covercalibrator_number``. Cover motions and the lamp's warm-up time out after
    ``telescope.cover_timeout_s`` (:class:`DeviceTimeout`); a cover or lamp reporting
    Error raises :class:`DeviceError`; a lamp that is not fitted, or a brightness out of
    range, is :class:`DeviceRefused` / :class:`InvalidTarget`. Not thread-safe."""

    def __init__(
        self, devices: DeviceSettings | None = None, telescope: TelescopeSettings | None = None
    ) -> None:
        self.devices = devices if devices is not None else get_settings().devices
        self.telescope = telescope if telescope is not None else get_settings().telescope
        if self.devices.covercalibrator_address is None:
            # The settings say the site has none: nothing may be sent to one.
            raise ConfigurationError(
                "no flat panel is configured (devices.covercalibrator_address)"
            )
        self._device, self._client = open_device(
            self.devices,
            "covercalibrator",
            CoverCalibrator,
            "flat panel",
            COVERCALIBRATOR_PLATFORM7_VERSION,
        )

    @property
    def label(self) -> str:
        return self._client.label

    @cached_property
    def max_brightness(self) -> int:
        return int(self._client.call("maxbrightness", lambda: self._device.MaxBrightness))

    def status(self) -> CoverCalibratorState:
        call, device = self._client.call, self._device
        lamp = LampState(int(call("calibratorstate", lambda: device.CalibratorState)))
        brightness = 0
        if lamp is not LampState.NOT_PRESENT:
            brightness = int(call("brightness", lambda: device.Brightness))
        return CoverCalibratorState(
            cover=CoverState(int(call("coverstate", lambda: device.CoverState))),
            lamp=lamp,
            brightness=brightness,
        )

    def lamp_on(self, brightness: int | None = None) -> CoverCalibratorState:
        """Light the lamp at ``brightness`` (default: the maximum) and wait until Ready.

        Presence is checked first: a device without a lamp may refuse MaxBrightness
        (ASCOM: NotImplemented when CalibratorState is NotPresent), and the caller should
        learn that the lamp is missing, not that a member failed."""
        state = self.status()
        if state.lamp is LampState.NOT_PRESENT:
            raise DeviceRefused(f"{self.label} has no calibrator lamp")
        maximum = self.max_brightness
        level = maximum if brightness is None else brightness
        if not 0 < level <= maximum:
            raise InvalidTarget(f"brightness {level} is outside 1..{maximum} of {self.label}")
        if state.lamp is LampState.READY and state.brightness == level:
            return state
        self._client.call("calibratoron", lambda: self._device.CalibratorOn(level))
        return self._wait(
            "calibratoron",
            f"lamp ready at {level}",
            lambda s: s.lamp is LampState.READY and s.brightness == level,
            lambda s: "the lamp reports an error" if s.lamp is LampState.ERROR else None,
        )

    def lamp_off(self) -> CoverCalibratorState:
        """Switch the lamp off and wait until it reports Off (no lamp: nothing to do)."""
        state = self.status()
        if state.lamp in (LampState.OFF, LampState.NOT_PRESENT):
            return state
        self._client.call("calibratoroff", self._device.CalibratorOff)
        return self._wait("calibratoroff", "lamp off", lambda s: s.lamp is LampState.OFF)

    def close_cover(self) -> CoverCalibratorState:
        """Close the cover over the aperture (no cover fitted: nothing to do)."""
        return self._move_cover(CoverState.CLOSED, "closecover", self._device.CloseCover)

    def open_cover(self) -> CoverCalibratorState:
        """Open the cover (no cover fitted: nothing to do)."""
        return self._move_cover(CoverState.OPEN, "opencover", self._device.OpenCover)

    def _move_cover(
        self, target: CoverState, member: str, command: Callable[[], None]
    ) -> CoverCalibratorState:
        state = self.status()
        if state.cover in (target, CoverState.NOT_PRESENT):
            return state
        self._client.call(member, command)
        return self._wait(
            member,
            f"cover {target.name.lower()}",
            lambda s: s.cover is target,
            lambda s: "the cover reports an error" if s.cover is CoverState.ERROR else None,
        )

    def _wait(
        self,
        member: str,
        target: str,
        reached: Callable[[CoverCalibratorState], bool],
        failed: Callable[[CoverCalibratorState], str | None] | None = None,
    ) -> CoverCalibratorState:
        return self._client.wait_until(
            command=member,
            target=target,
            read_state=self.status,
            reached=reached,
            failed=failed,
            timeout_s=self.telescope.cover_timeout_s,
        )
