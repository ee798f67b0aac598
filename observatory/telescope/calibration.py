"""The calibration-frame sequence: biases, darks, then flats on the lit panel.

Biases and darks are taken with the shutter closed (StartExposure light=False), whatever
the dome does. Flats need the dome closed, the panel's cover over the aperture and its
lamp lit; each set's exposure time is found with :mod:`observatory.telescope.flats`.
Afterwards the lamp is off and the cover open again, also when the flats were interrupted.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from observatory.db.models import ImageType
from observatory.devices.covercalibrator import CoverCalibratorAdapter, CoverState
from observatory.errors import ConfigurationError, ObservatoryError
from observatory.intake import Publisher
from observatory.orders.lifecycle import Claim
from observatory.orders.models import CalibrationFramesOrder, DarkSpec, FlatSpec
from observatory.settings import Settings
from observatory.telescope.flats import find_flat_exposure
from observatory.telescope.limits import (
    check_binning,
    check_exposure,
    check_filter,
    check_flat_level,
    check_panel,
    check_sensor,
)
from observatory.telescope.rig import TelescopeRig
from observatory.telescope.run import OrderRun, run_sequence

log = logging.getLogger(__name__)

# The first flat trial's exposure time, seconds (within the settings' bounds).
FLAT_START_S = 1.0


def take_calibration_frames(
    settings: Settings, claim: Claim, rig: TelescopeRig, publish: Publisher
) -> dict[str, Any]:
    """Run a ``calibration_frames`` work order; returns the step outputs. Before anything
    moves, :class:`InvalidTarget` for a set the camera or wheel cannot take
    (:func:`check_calibration_plan`); afterwards any failure is
    :class:`~observatory.telescope.run.SequenceInterrupted` (see ``run_sequence``)."""
    order = CalibrationFramesOrder.model_validate(claim.payload)
    check_calibration_plan(rig, order)
    return run_sequence(settings, claim, rig, publish, lambda run: _calibrate(run, order))


def check_calibration_plan(rig: TelescopeRig, order: CalibrationFramesOrder) -> None:
    """Raise :class:`InvalidTarget` naming the field when the camera cannot take a set's
    binning or a dark's exposure time, the wheel lacks a flat's filter (or the site has
    no wheel and a filter is named), or flats are asked of a site without a flat panel
    (biases and darks need neither device): otherwise the
    order failed at that set, after the sets before it (and a flat's filter with the
    panel already lit), or a flat level the camera saturates below. Biases are taken at
    the camera's ExposureMin."""
    check_sensor(rig)
    if order.flats:
        check_panel(rig, "flats")
    if order.bias_count:
        check_binning(rig, order.binning, "binning")
    sets: list[tuple[str, DarkSpec | FlatSpec]] = [
        *((f"darks.{i}", dark) for i, dark in enumerate(order.darks)),
        *((f"flats.{i}", flat) for i, flat in enumerate(order.flats)),
    ]
    for where, spec in sets:
        # A set binned 1 takes the order's binning (see _binning).
        check_binning(
            rig, _binning(order, spec), f"{where}.binning" if spec.binning != 1 else "binning"
        )
        if isinstance(spec, DarkSpec):
            check_exposure(rig, spec.exposure_s, f"{where}.exposure_s")
        else:
            check_flat_level(rig, spec.target_adu, f"{where}.target_adu")
            check_filter(rig, spec.filter, f"{where}.filter")


def _binning(order: CalibrationFramesOrder, spec: DarkSpec | FlatSpec) -> int:
    # A set binned other than 1 (the default) keeps its own binning; otherwise the order's
    # applies (the stored payload spells out defaults, so "not given" cannot be told).
    return spec.binning if spec.binning != 1 else order.binning


def _calibrate(run: OrderRun, order: CalibrationFramesOrder) -> dict[str, Any]:
    bias_s = run.rig.camera.info.exposure_min_s
    if order.bias_count:
        run.phase("bias")
        for _ in range(order.bias_count):
            run.take(ImageType.BIAS, bias_s, order.binning, "bias")
    if order.darks:
        run.phase("dark")
        for dark in order.darks:
            for _ in range(dark.count):
                run.take(ImageType.DARK, dark.exposure_s, _binning(order, dark), "dark")
    # By filter name; "none" for flats without filter (a site without a filter wheel).
    flat_exposures: dict[str, float] = {}
    if order.flats:
        run.phase("flat")
        _light_panel(run)
        try:
            for flat in order.flats:
                exposure_s = _take_flats(run, flat, _binning(order, flat))
                flat_exposures[flat.filter or "none"] = exposure_s
        except BaseException:
            _dark_panel_after(run)
            raise
        _dark_panel(run)
    return {"flat_exposures_s": flat_exposures}


def _panel(run: OrderRun) -> CoverCalibratorAdapter:
    # check_calibration_plan refused flats at a site without a panel.
    panel = run.rig.panel
    if panel is None:
        raise ConfigurationError("flats need a flat panel (devices.covercalibrator_address)")
    return panel


def _light_panel(run: OrderRun) -> None:
    run.close_dome("flat fields")
    panel = _panel(run)
    if panel.status().cover is not CoverState.CLOSED:
        panel.close_cover()
        run.event("covercalibrator", "cover_closed")
    panel.lamp_on()
    run.event("covercalibrator", "lamp_on", brightness=panel.max_brightness)


def _dark_panel(run: OrderRun) -> None:
    panel = _panel(run)
    panel.lamp_off()
    run.event("covercalibrator", "lamp_off")
    if panel.status().cover is not CoverState.OPEN:
        panel.open_cover()
        run.event("covercalibrator", "cover_opened")


def _dark_panel_after(run: OrderRun) -> None:
    """After flats were interrupted: lamp off and cover open all the same (a lamp left lit
    under the cover reaches the next darks of a camera without a shutter). A failure here
    is noted (and logged); the interruption stays the cause."""
    try:
        _dark_panel(run)
    except ObservatoryError as panel_error:
        log.exception("the flat panel could not be darkened after an interruption")
        run.notes.append(f"darkening the flat panel failed: {panel_error}")


def _take_flats(run: OrderRun, flat: FlatSpec, binning: int) -> float:
    """Find the set's exposure time, then take its frames; returns that time."""
    camera, limits = run.rig.camera, run.settings.telescope
    filter_name = run.select_filter(flat.filter)
    bias_adu = float(np.median(camera.expose(camera.info.exposure_min_s, False, binning).data))
    found = find_flat_exposure(
        lambda exposure_s: camera.expose(exposure_s, True, binning).data,
        bias_adu=bias_adu,
        target_adu=flat.target_adu,
        max_adu=camera.info.max_adu,
        # Within the camera's range too: a trial outside it failed the set.
        min_s=max(limits.flat_min_exposure_s, camera.info.exposure_min_s),
        max_s=min(limits.flat_max_exposure_s, camera.info.exposure_max_s),
        start_s=FLAT_START_S,
    )
    exposure_s = round(found.exposure_s, 3)
    for _ in range(flat.count):
        run.take(ImageType.FLAT, exposure_s, binning, "flat", filter=filter_name)
    return exposure_s
