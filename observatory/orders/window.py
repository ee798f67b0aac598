"""Whether a queued order may start now: its time window and its target's visibility.

An observation may carry ``not_before``/``not_after`` (its window). When its message is
delivered:

- past ``not_after``: it is never started; it ends ``cancelled`` with the reason;
- before ``not_before``: it is deferred (unpublished until then);
- given by RA/Dec with a ``not_after``, and its target not observable now: deferred to
  the first observable instant within the window, or ``cancelled`` when there is none.

An order without ``not_after`` is never held for visibility: its submitter asked for it
now (its priority already counts an unobservable target down).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from observatory.orders.observability import first_observable, visibility
from observatory.settings import Settings


class Verdict(enum.StrEnum):
    START = "start"
    DEFER = "defer"
    CANCEL = "cancel"


@dataclass(frozen=True)
class StartDecision:
    """What to do with a delivered order; ``until`` is set when deferred."""

    verdict: Verdict
    reason: str = ""
    until: dt.datetime | None = None


def _instant(payload: dict[str, Any], key: str) -> dt.datetime | None:
    value = payload.get(key)
    if value is None:
        return None
    when = dt.datetime.fromisoformat(value)
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def start_decision(settings: Settings, payload: dict[str, Any], now: dt.datetime) -> StartDecision:
    """Decide from the stored payload (JSON of a validated order) whether it starts now."""
    if payload.get("request") != "observation":
        return StartDecision(Verdict.START)
    not_before, not_after = _instant(payload, "not_before"), _instant(payload, "not_after")
    if not_after is not None and now >= not_after:
        return StartDecision(
            Verdict.CANCEL, f"window passed: not_after {not_after.isoformat()} is before now"
        )
    if not_before is not None and now < not_before:
        return StartDecision(
            Verdict.DEFER, f"not_before {not_before.isoformat()} is ahead", not_before
        )
    ra_deg, dec_deg = payload.get("ra"), payload.get("dec")
    if not_after is None or ra_deg is None or dec_deg is None:
        return StartDecision(Verdict.START)
    seen = visibility(settings, ra_deg, dec_deg, now)
    if seen.observable:
        return StartDecision(Verdict.START)
    first = first_observable(settings, ra_deg, dec_deg, now, not_after)
    if first is None:
        return StartDecision(
            Verdict.CANCEL,
            f"not observable before its window ends at {not_after.isoformat()} "
            f"(now: {seen.describe()})",
        )
    return StartDecision(
        Verdict.DEFER,
        f"not observable now ({seen.describe()}); observable from {first.isoformat()}",
        first,
    )
