"""What the intake settles on receipt, so that an order accepted is an order that can run.

An observation given by name gets the coordinates the offline catalogues find for it, an
observation without exposures gets the site's default plan, and every filter and binning
is checked against the imaging train the settings describe. The telescope would refuse
the same orders later, after the order had waited in its queue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select

from observatory.db.models import WorkOrder as StoredOrder
from observatory.db.models import WorkOrderState
from observatory.db.session import session_scope
from observatory.errors import TransferRefused, WorkOrderInvalid
from observatory.orders.models import (
    AutofocusOrder,
    CalibrateFileBatchOrder,
    CalibrationFramesOrder,
    DarkSpec,
    ExposureSpec,
    FlatSpec,
    ObservationOrder,
    ResolvedTarget,
    RestartFileBatchOrder,
    ResumeFileBatchOrder,
    WorkOrder,
)
from observatory.settings import Settings
from observatory.transfer import check_batch_url

# Why an order naming a filter, or flats, cannot run here (see observatory.settings).
NO_WHEEL = "this site has no filter wheel (devices.filterwheel_address is empty)"
NO_PANEL = (
    "this site has no flat panel (devices.covercalibrator_address is empty);"
    " order biases and darks only"
)

# The fields settle_on_receipt fills in when the submitter left them out: a resubmission
# that leaves them out again is the same order (observatory.intake.same_content).
FILLED_ON_RECEIPT = frozenset({"ra", "dec", "resolved", "exposures"})


def settle_on_receipt(settings: Settings, order: WorkOrder, now: dt.datetime) -> WorkOrder:
    """``order`` as it is to be stored: targets resolved, default exposures filled in.

    ``now`` (aware, the observatory's civil time) is the instant at which a body's position
    is taken when the order gives no window. Raises WorkOrderInvalid naming the field: an
    unknown name, no exposures and no default plan, a filter the wheel does not have or a
    binning the camera cannot do (per ``telescope.filters`` and ``telescope.max_binning``),
    a filter named at a site without a filter wheel (or none named with one), flats at a
    site without a flat panel, an autofocus without a focuser in the settings.
    """
    if isinstance(order, ObservationOrder):
        order = _with_exposures(settings, _with_coordinates(settings, order, now))
        assert order.exposures is not None  # filled in above
        _check_train(settings, "exposures", order.exposures)
    elif isinstance(order, CalibrationFramesOrder):
        _check_binning(settings, "binning", order.binning)
        if order.flats and settings.devices.covercalibrator_address is None:
            raise WorkOrderInvalid(f"flats: {NO_PANEL}")
        _check_train(settings, "flats", order.flats)
        _check_train(settings, "darks", order.darks)
    elif isinstance(order, AutofocusOrder):
        _check_focuser(settings, order)
    return order


def check_batch_received(settings: Settings, order: WorkOrder) -> None:
    """Refuse a ``resume_file_batch`` or ``restart_file_batch`` naming a batch that no
    received ``calibrate_file_batch`` order names: the processor resumes a batch from its
    calibrate order's runs and would fail it at once. Raises WorkOrderInvalid."""
    if not isinstance(order, ResumeFileBatchOrder | RestartFileBatchOrder):
        return
    with session_scope(settings.sqlalchemy_url) as session:
        known = session.scalar(
            select(StoredOrder.pk)
            .where(
                StoredOrder.batch == order.batch,
                StoredOrder.request == "calibrate_file_batch",
                StoredOrder.state != WorkOrderState.REJECTED,
            )
            .limit(1)
        )
    if known is None:
        raise WorkOrderInvalid(
            f"batch: no batch {order.batch!r} has been received"
            " (no calibrate_file_batch order names it)"
        )


def check_local_batch(settings: Settings, order: WorkOrder) -> None:
    """Refuse a ``calibrate_file_batch`` whose local path (or ``file://`` url) names
    nothing on this host: the processor would fail it at once. An http(s) url is not
    fetched at intake (its host may answer later); only its form is checked, by
    :func:`observatory.orders.batch_names.batch_at_receipt`. A local archive file passes
    here; the transfer checks its content. Raises WorkOrderInvalid."""
    if not isinstance(order, CalibrateFileBatchOrder):
        return
    try:
        folder = check_batch_url(settings, order.url).folder
    except TransferRefused as error:
        raise WorkOrderInvalid(f"url: {error}") from None
    if folder is not None and not folder.exists():
        raise WorkOrderInvalid(f"url: {order.url!r} is not a folder here")


def window_instant(order: ObservationOrder, now: dt.datetime) -> dt.datetime:
    """The instant that stands for the order's window: its middle, its start, or ``now``."""
    if order.not_before and order.not_after:
        return order.not_before + (order.not_after - order.not_before) / 2
    if order.not_before and order.not_before > now:
        return order.not_before
    return now


def _with_coordinates(
    settings: Settings, order: ObservationOrder, now: dt.datetime
) -> ObservationOrder:
    if order.ra is not None or order.target is None:
        return order  # coordinates given; a target name beside them is only a label
    # Imported here: the catalogues load pyongc and astropy, which orders by coordinates
    # never need.
    from observatory.catalogues.names import resolve_name

    found = resolve_name(order.target, window_instant(order, now), settings.site)
    resolved = ResolvedTarget(
        ra_deg=found.ra_deg, dec_deg=found.dec_deg, name=found.name, source=found.source
    )
    return order.model_copy(update={"ra": found.ra_deg, "dec": found.dec_deg, "resolved": resolved})


def _with_exposures(settings: Settings, order: ObservationOrder) -> ObservationOrder:
    if order.exposures is not None:
        return order
    plan = settings.telescope.default_exposures
    if not plan:
        raise WorkOrderInvalid(
            "exposures: none given and no default exposure plan is configured"
            " (telescope.default_exposures); give exposures"
        )
    exposures = [ExposureSpec.model_validate(entry.model_dump()) for entry in plan]
    return order.model_copy(update={"exposures": exposures})


def _check_train(
    settings: Settings, field: str, specs: Sequence[ExposureSpec | DarkSpec | FlatSpec]
) -> None:
    for index, spec in enumerate(specs):
        if not isinstance(spec, DarkSpec):
            check_filter_named(settings, f"{field}.{index}.filter", spec.filter)
        _check_binning(settings, f"{field}.{index}.binning", spec.binning)


def check_filter_named(settings: Settings, field: str, name: str | None) -> None:
    """Without a filter wheel no filter may be named; with one, a filter must be (a
    frame through whatever filter is in the beam would be written without its name)."""
    filters = settings.telescope.filters
    if settings.devices.filterwheel_address is None:
        if name is not None:
            raise WorkOrderInvalid(f"{field}: {name!r} named, but {NO_WHEEL}")
        return
    if name is None:
        if filters is not None:
            raise WorkOrderInvalid(
                f"{field}: none named; the filter wheel holds {', '.join(filters)}"
            )
        raise WorkOrderInvalid(
            f"{field}: none named, and this site has a filter wheel"
            " (devices.filterwheel_address); name one of its filters"
        )
    # The wheel matches names ignoring case when no exact match exists (devices.filterwheel).
    if filters is not None and name.casefold() not in {f.casefold() for f in filters}:
        raise WorkOrderInvalid(
            f"{field}: {name!r} is not in the filter wheel ({', '.join(filters)})"
        )


def _check_binning(settings: Settings, field: str, binning: int) -> None:
    largest = settings.telescope.max_binning
    if largest is not None and binning > largest:
        raise WorkOrderInvalid(f"{field}: the camera bins at most {largest} x {largest}")


def _check_focuser(settings: Settings, order: AutofocusOrder) -> None:
    if settings.devices.focuser_address is None:
        raise WorkOrderInvalid(
            "request: autofocus needs a focuser, and none is configured (devices.focuser_address)"
        )
    if order.filter is not None:
        check_filter_named(settings, "filter", order.filter)
    if order.binning is not None:
        _check_binning(settings, "binning", order.binning)
