"""The observation sequence: safe, dome open, slew and track, then each exposure run.

Between exposures the safety monitor is asked again and the dome slit is brought back to
the mount when it drifted more than ``telescope.dome_slit_tolerance_deg``. At the end the
devices are left as found: the dome closed again and the mount parked again when this
order opened or unparked them.
"""

from __future__ import annotations

from typing import Any

from observatory.clock import utc_now
from observatory.db.models import ImageType
from observatory.devices.mount import altitude_deg
from observatory.errors import WorkOrderInvalid
from observatory.intake import Publisher
from observatory.orders.lifecycle import Claim
from observatory.orders.models import ExposureSpec, ObservationOrder
from observatory.settings import Settings
from observatory.telescope.limits import (
    check_binning,
    check_exposure,
    check_filter,
    check_sensor,
)
from observatory.telescope.rig import TelescopeRig
from observatory.telescope.run import OrderRun, run_sequence
from observatory.telescope.site import check_mount_site
from observatory.telescope.targets import Target, TargetNotObservable, check_window, resolve_target


def observe(
    settings: Settings, claim: Claim, rig: TelescopeRig, publish: Publisher
) -> dict[str, Any]:
    """Run an ``observation`` work order; returns the step outputs (batch, files, ...).

    Before anything moves: :class:`WorkOrderInvalid` for a target without ``ra``/``dec``
    or no ``exposures``, :class:`InvalidTarget` for a filter, binning or exposure time
    the devices cannot take (:func:`check_plan`), :class:`TargetNotObservable` outside the
    window or below ``telescope.altitude_limit_deg``, :class:`SiteMismatch` for a mount set
    for another site than ``site``. Afterwards any failure is
    :class:`~observatory.telescope.run.SequenceInterrupted` (see :func:`run_sequence`).
    """
    order = ObservationOrder.model_validate(claim.payload)
    check_window(order, utc_now(settings))
    target = resolve_target(order)
    # Intake fills in the default plan; an order stored before it did takes today's plan.
    exposures = order.exposures or [
        ExposureSpec.model_validate(entry.model_dump())
        for entry in settings.telescope.default_exposures
    ]
    if not exposures:
        raise WorkOrderInvalid("exposures: no default exposure plan is configured; give one")
    check_plan(rig, exposures)
    check_altitude(settings, rig, target)
    return run_sequence(settings, claim, rig, publish, lambda run: _observe(run, target, exposures))


def check_plan(rig: TelescopeRig, exposures: list[ExposureSpec]) -> None:
    """Raise :class:`InvalidTarget` naming the exposure when the filter wheel does not
    hold its filter (or the site has no wheel and a filter is named, or a wheel and none
    is) or the camera cannot take its binning or exposure time, before anything moves
    (see :mod:`observatory.telescope.limits`)."""
    check_sensor(rig)
    for index, spec in enumerate(exposures):
        where = f"exposures.{index}"
        check_filter(rig, spec.filter, f"{where}.filter")
        check_binning(rig, spec.binning, f"{where}.binning")
        check_exposure(rig, spec.exposure_s, f"{where}.exposure_s")


def check_altitude(settings: Settings, rig: TelescopeRig, target: Target) -> float:
    """The target's altitude now (from the mount's sidereal time at ``site.latitude_deg``);
    raises :class:`TargetNotObservable` below ``telescope.altitude_limit_deg``, and
    :class:`SiteMismatch` first when the mount is set for another site (its sidereal time
    would be another longitude's)."""
    check_mount_site(rig.mount, settings.site)
    lst_hours = rig.mount.sidereal_time_hours()
    altitude = altitude_deg(target.ra_deg, target.dec_deg, lst_hours, settings.site.latitude_deg)
    limit = settings.telescope.altitude_limit_deg
    if altitude < limit:
        raise TargetNotObservable(
            f"{target.name} is at altitude {altitude:.1f} deg, below the limit {limit:g} deg"
        )
    return altitude


def _observe(run: OrderRun, target: Target, exposures: list[ExposureSpec]) -> dict[str, Any]:
    rig = run.rig
    unparked = open_and_point(run, target)
    focal_length_mm = rig.mount.focal_length_mm()
    run.phase("exposing")
    for spec in exposures:
        for _ in range(spec.count):
            rig.safety.require_safe()
            run.heartbeat.check()
            mount = rig.mount.status()
            run.slave_dome(mount)
            filter_name = run.select_filter(spec.filter)
            run.take(
                ImageType.LIGHT,
                spec.exposure_s,
                spec.binning,
                target.name,
                filter=filter_name,
                mount=mount,
                focal_length_mm=focal_length_mm,
            )
    leave_as_found(run, unparked, "observation finished")
    return {"target": target.name, "ra_deg": target.ra_deg, "dec_deg": target.dec_deg}


def open_and_point(run: OrderRun, target: Target) -> bool:
    """Safe, dome open, cover off, the mount tracking ``target``; returns whether the
    mount was parked before (so that :func:`leave_as_found` parks it again)."""
    run.phase("opening")
    run.rig.safety.require_safe()
    run.open_dome()
    uncover(run)
    run.phase("slewing")
    return point_at(run, target)


def leave_as_found(run: OrderRun, unparked: bool, reason: str) -> None:
    """Close the dome if this order opened it, park the mount if it unparked it."""
    run.phase("closing")
    if run.dome_opened:
        run.close_dome(reason)
    if unparked:
        run.rig.mount.park()
        run.event("mount", "parked")


def uncover(run: OrderRun) -> None:
    """Lamp off and dust cover open; a site without a flat panel has neither."""
    panel = run.rig.panel
    if panel is None:
        return
    before = panel.status()
    panel.lamp_off()
    after = panel.open_cover()
    if after.cover is not before.cover:
        run.event("covercalibrator", "cover_opened")


def point_at(run: OrderRun, target: Target) -> bool:
    """Unpark, track and slew; returns whether the mount was parked before."""
    mount = run.rig.mount
    was_parked = mount.status().at_park
    if was_parked:
        mount.unpark()
        run.event("mount", "unparked")
    mount.set_tracking(True)
    run.event("mount", "slew_started", ra_deg=target.ra_deg, dec_deg=target.dec_deg)
    state = run.horizontal(run.slew_to(target.ra_deg, target.dec_deg))
    run.event(
        "mount",
        "slew_ended",
        ra_deg=round(state.ra_deg, 5),
        dec_deg=round(state.dec_deg, 5),
        altitude_deg=_rounded(state.altitude_deg),
        azimuth_deg=_rounded(state.azimuth_deg),
    )
    run.slave_dome(state)
    return was_parked


def _rounded(degrees: float | None) -> float | None:
    return None if degrees is None else round(degrees, 2)
