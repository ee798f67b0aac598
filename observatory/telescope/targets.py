"""Where an observation points: the order's J2000 coordinates, and whether it is up."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from observatory.errors import ObservatoryError, WorkOrderInvalid
from observatory.orders.models import ObservationOrder


class TargetNotObservable(ObservatoryError):
    """The target is below the altitude limit, or the order's window is not now."""


@dataclass(frozen=True)
class Target:
    ra_deg: float
    dec_deg: float
    name: str


def resolve_target(order: ObservationOrder) -> Target:
    """The order's target as J2000 degrees.

    A target given by name was resolved on receipt, which stored its coordinates
    (:mod:`observatory.orders.receipt`). Raises :class:`WorkOrderInvalid` naming the
    fields when ``ra``/``dec`` are missing all the same (an order stored before names
    were resolved).
    """
    if order.ra is None or order.dec is None:
        raise WorkOrderInvalid(
            f"ra, dec: target {order.target!r} was not resolved on receipt; submit the order"
            " again, or give ra and dec in degrees (J2000)"
        )
    name = order.target or f"RA {order.ra:.4f} Dec {order.dec:+.4f}"
    return Target(order.ra, order.dec, name)


def check_window(order: ObservationOrder, now: dt.datetime) -> None:
    """Raise :class:`TargetNotObservable` when ``now`` is outside the order's
    ``not_before``/``not_after`` window."""
    not_before, not_after = _utc(order.not_before), _utc(order.not_after)
    if not_before is not None and now < not_before:
        raise TargetNotObservable(f"not_before {not_before.isoformat()} is still ahead")
    if not_after is not None and now > not_after:
        raise TargetNotObservable(f"not_after {not_after.isoformat()} has passed")


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    # Work orders' datetimes without an offset are UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)
