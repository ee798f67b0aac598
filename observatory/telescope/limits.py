"""What the camera and filter wheel can take, checked before anything moves.

The intake checks an order against the settings' lists, which need not be this wheel's
and camera's: a set they cannot take would fail only when its turn comes, after the dome
opened or earlier sets were taken. Each check raises :class:`InvalidTarget` naming the
order's field (``exposures.1.binning: ...``).
"""

from __future__ import annotations

from observatory.devices.camera import SensorType
from observatory.errors import InvalidTarget
from observatory.orders.receipt import NO_PANEL, NO_WHEEL
from observatory.telescope.flats import SATURATED_FRACTION
from observatory.telescope.rig import TelescopeRig


def check_filter(rig: TelescopeRig, name: str | None, where: str) -> None:
    """The wheel holds filter ``name``; without a wheel, no filter is named (None); with
    one, a filter is (a frame through whatever filter is in the beam would be written
    without its name)."""
    if rig.filterwheel is None:
        if name is not None:
            raise InvalidTarget(f"{where}: {name!r} named, but {NO_WHEEL}")
        return
    if name is None:
        raise InvalidTarget(
            f"{where}: none named; {rig.filterwheel.label} holds {rig.filterwheel.names}"
        )
    try:
        rig.filterwheel.slot_of(name)
    except InvalidTarget as error:
        raise InvalidTarget(f"{where}: {error}") from None


def check_panel(rig: TelescopeRig, where: str) -> None:
    """The site has a flat panel (flats need its lamp and cover)."""
    if rig.panel is None:
        raise InvalidTarget(f"{where}: {NO_PANEL}")


def check_binning(rig: TelescopeRig, binning: int, where: str) -> None:
    """The camera bins ``binning`` x ``binning``."""
    max_bin = rig.camera.info.max_bin
    if binning > max_bin:
        raise InvalidTarget(f"{where}: {binning} is more than {rig.camera.label} bins ({max_bin})")


def check_exposure(rig: TelescopeRig, exposure_s: float, where: str) -> None:
    """The camera exposes ``exposure_s`` seconds (within its ExposureMin/ExposureMax)."""
    info = rig.camera.info
    if not info.exposure_min_s <= exposure_s <= info.exposure_max_s:
        raise InvalidTarget(
            f"{where}: {exposure_s:g} s is outside"
            f" [{info.exposure_min_s:g}, {info.exposure_max_s:g}] s of {rig.camera.label}"
        )


def check_sensor(rig: TelescopeRig) -> None:
    """The camera sends one plane per pixel: a Color sensor (SensorType 1) sends three,
    which no frame here can hold. A mosaic sensor (RGGB, ...) is taken as it is."""
    if rig.camera.info.sensor_type is SensorType.COLOR:
        raise InvalidTarget(
            f"{rig.camera.label} has a Color sensor (SensorType 1: three planes per pixel):"
            " its images cannot be written; use the camera's raw (RGGB) mode"
        )


def check_flat_level(rig: TelescopeRig, target_adu: float, where: str) -> None:
    """A flat's ``target_adu`` is below the level the camera saturates at (a 12- or 14-bit
    camera's MaxADU of 4095 or 16383 is below the default target)."""
    max_adu = rig.camera.info.max_adu
    if target_adu >= SATURATED_FRACTION * max_adu:
        raise InvalidTarget(
            f"{where}: {target_adu:.0f} ADU is not below the saturation of {rig.camera.label}"
            f" ({SATURATED_FRACTION:.0%} of its MaxADU {max_adu})"
        )
