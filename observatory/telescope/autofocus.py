"""The autofocus sequence: a V-curve through focus, fitted, and the focuser set at its
minimum.

Safe, dome open, cover off, the mount on the field (the order's, or the zenith's); the
filter selected; then one frame at each position of a sweep centred on the present
position, each frame's stars measured (median half-flux diameter). The hyperbola fitted to
those gives the best position; the focuser reaches it from below, as it reached every
point of the sweep, so any backlash is taken up the same way. When the fit fails the
focuser goes back where it was and the order fails, saying why. Either way the run is
recorded in ``focus_runs``. The frames stay in the order's batch (not sent to the
processor: they are not science).

An order with ``when_drift_k`` first compares the focuser's temperature with that of the
last successful run, and does nothing (succeeding, and saying so) while it is closer than
that: the routine plan submits such orders through the night. Opening the dome goes
through the safety supervisor's permit, as for observations (no opening at dawn).
"""

from __future__ import annotations

from typing import Any

from astropy.io import fits
from sqlalchemy import select

from observatory.db.models import FocusRun, ImageType
from observatory.db.session import session_scope
from observatory.devices.focuser import FocuserAdapter
from observatory.errors import AutofocusFailed, ConfigurationError
from observatory.intake import Publisher
from observatory.orders.lifecycle import Claim
from observatory.orders.models import AutofocusOrder
from observatory.settings import Settings
from observatory.telescope.focus_curve import VCurveFit, fit_v_curve, measure_hfd, sweep_positions
from observatory.telescope.limits import check_filter
from observatory.telescope.observation import check_altitude, leave_as_found, open_and_point
from observatory.telescope.rig import TelescopeRig
from observatory.telescope.run import OrderRun, run_sequence
from observatory.telescope.targets import Target


def autofocus(
    settings: Settings, claim: Claim, rig: TelescopeRig, publish: Publisher
) -> dict[str, Any]:
    """Run an ``autofocus`` work order; returns the best position, the HFD there and the
    curve. :class:`ConfigurationError` when no focuser is configured; otherwise failures
    are :class:`~observatory.telescope.run.SequenceInterrupted` chained to the cause
    (:class:`AutofocusFailed` when the curve gave no trustworthy minimum)."""
    order = AutofocusOrder.model_validate(claim.payload)
    if rig.focuser is None:
        raise ConfigurationError("autofocus: no focuser is configured (devices.focuser_address)")
    focuser = rig.focuser
    if order.when_drift_k is not None:
        unneeded = _focus_still_good(settings, focuser, order.when_drift_k)
        if unneeded is not None:
            return unneeded
    if order.filter is not None:
        check_filter(rig, order.filter, "filter")
    target = _field(settings, rig, order)
    check_altitude(settings, rig, target)
    return run_sequence(
        settings, claim, rig, publish, lambda run: _sweep(run, focuser, order, target),
        process_batch=False,
    )  # fmt: skip


def _focus_still_good(
    settings: Settings, focuser: FocuserAdapter, drift_k: float
) -> dict[str, Any] | None:
    """The outputs of a refocus not needed (temperature within ``drift_k`` of the last
    successful run's), or None when a run is needed (no run yet, no sensor, drifted)."""
    with session_scope(settings.sqlalchemy_url) as session:
        last = session.scalars(
            select(FocusRun)
            .where(FocusRun.best_position.is_not(None), FocusRun.temperature_c.is_not(None))
            .order_by(FocusRun.at.desc())
            .limit(1)
        ).one_or_none()
        last_c = last.temperature_c if last is not None else None
    now_c = focuser.temperature_c()
    if last_c is None or now_c is None or abs(now_c - last_c) >= drift_k:
        return None
    return {"skipped": f"the temperature drifted {abs(now_c - last_c):.2f} K since the last"
            f" autofocus, less than {drift_k:g} K", "temperature_c": now_c,
            "last_focus_temperature_c": last_c}  # fmt: skip


def _field(settings: Settings, rig: TelescopeRig, order: AutofocusOrder) -> Target:
    if order.ra is not None and order.dec is not None:
        return Target(order.ra, order.dec, "autofocus field")
    # The zenith: right ascension = local sidereal time, declination = latitude.
    lst_deg = rig.mount.sidereal_time_hours() * 15.0
    return Target(lst_deg % 360.0, settings.site.latitude_deg, "autofocus field (zenith)")


def _sweep(
    run: OrderRun, focuser: FocuserAdapter, order: AutofocusOrder, target: Target
) -> dict[str, Any]:
    rig, focus = run.rig, run.settings.focus
    exposure_s = order.exposure_s or focus.exposure_s
    binning = order.binning or focus.binning
    unparked = open_and_point(run, target)
    filter_name = run.select_filter(order.filter) if order.filter else None
    if filter_name is None and rig.filterwheel is not None:
        filter_name = rig.filterwheel.current_filter()
    before = focuser.position()
    step = order.step or focus.step
    positions = sweep_positions(before, step, order.points or focus.points, focuser.max_step)
    record = FocusRun(work_order_pk=run.claim.pk, filter=filter_name, exposure_s=exposure_s,
                      temperature_c=focuser.temperature_c(), position_before=before,
                      positions=positions, hfd_px=[], stars=[])  # fmt: skip
    run.phase("focusing")
    try:
        _measure(run, focuser, record, exposure_s, binning)
    except Exception:
        _move_from_below(focuser, before, step)  # an interrupted sweep leaves it as found
        raise
    fit = _fit_or_restore(run, focuser, record, step)
    leave_as_found(run, unparked, "autofocus finished")
    return {
        "best_position": record.position_after,
        "hfd_px": round(fit.a_px, 3),
        "fit_rms_px": round(fit.rms_px, 3),
        "temperature_c": record.temperature_c,
        "filter": filter_name,
        "positions": record.positions,
        "hfds_px": record.hfd_px,
    }


def _measure(
    run: OrderRun, focuser: FocuserAdapter, record: FocusRun, exposure_s: float, binning: int
) -> None:
    """One frame at each position of the sweep, approached from below; the HFDs and star
    counts go to ``record``."""
    rig, focus = run.rig, run.settings.focus
    positions = record.positions
    focuser.move_to(max(positions[0] - (positions[1] - positions[0]), 0))
    focal_length_mm = rig.mount.focal_length_mm()
    for position in positions:
        rig.safety.require_safe()
        run.heartbeat.check()
        focuser.move_to(position)
        mount = rig.mount.status()
        written = run.take(ImageType.LIGHT, exposure_s, binning, "autofocus", filter=record.filter,
                           mount=mount, focal_length_mm=focal_length_mm)  # fmt: skip
        sizes = measure_hfd(fits.getdata(run.batch.folder / written.path), focus.saturation_adu)
        record.hfd_px.append(sizes.hfd_px)
        record.stars.append(sizes.stars)
        run.event("focuser", "focus_frame", position=position, hfd_px=sizes.hfd_px,
                  stars=sizes.stars)  # fmt: skip


def _fit_or_restore(
    run: OrderRun, focuser: FocuserAdapter, record: FocusRun, step: int
) -> VCurveFit:
    """Fit the curve and move to its minimum; on failure put the focuser back. Either way
    the run is recorded before this returns or raises."""
    try:
        fit = fit_v_curve(record.positions, record.hfd_px)
    except AutofocusFailed as error:
        record.reason = str(error)
        _move_from_below(focuser, record.position_before, step)
        record.position_after = focuser.position()
        _store(run.settings, record)
        run.event("focuser", "autofocus_failed", reason=str(error))
        raise
    record.best_position = fit.best_position
    record.fit = {"a_px": fit.a_px, "b_steps": fit.b_steps, "c_steps": fit.best_position,
                  "rms_px": fit.rms_px}  # fmt: skip
    _move_from_below(focuser, round(fit.best_position), step)
    record.position_after = focuser.position()
    _store(run.settings, record)
    run.event("focuser", "focused", position=record.position_after, hfd_px=round(fit.a_px, 3))
    return fit


def _move_from_below(focuser: FocuserAdapter, position: int, step: int) -> None:
    focuser.move_to(max(position - step, 0))
    focuser.move_to(position)


def _store(settings: Settings, record: FocusRun) -> None:
    with session_scope(settings.sqlalchemy_url) as session:
        session.add(record)
