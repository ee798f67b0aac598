"""Everything that went wrong in a night, in one list: failed step runs with their error
text, orders that ended failed, partial, cancelled or rejected with their reason, and
product pictures that could not be drawn."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from observatory.report.gather import NightContent

FAILED_ORDER_STATES = ("failed", "partial", "cancelled", "rejected")


@dataclass(frozen=True)
class Failure:
    """One thing that went wrong; ``at`` None for problems found while writing the report."""

    at: dt.datetime | None
    source: str
    message: str
    detail: str | None = None


def night_failures(content: NightContent, picture_problems: Mapping[str, str]) -> list[Failure]:
    """The night's failures in time order, then the pictures that could not be drawn
    (``picture_problems``: product path relative to products_dir -> why)."""
    found: list[Failure] = []
    for order in content.orders:
        name = f"order {order.order_id} (#{order.pk}, {order.request})"
        for step in order.steps:
            if step.state == "failed":
                found.append(
                    Failure(
                        at=step.ended_at or step.started_at,
                        source=f"{name} step {step.step} attempt {step.attempt}",
                        message=step.error or "(no error text recorded)",
                        detail=step.traceback,
                    )
                )
        if order.state in FAILED_ORDER_STATES:
            found.append(
                Failure(
                    at=order.finished_at or order.received_at,
                    source=f"{name} {order.state}",
                    message=order.state_reason or "(no reason recorded)",
                )
            )
    found.sort(key=lambda f: f.at or dt.datetime.max.replace(tzinfo=dt.UTC))
    found.extend(
        Failure(at=None, source=f"picture of {path}", message=problem)
        for path, problem in picture_problems.items()
    )
    return found
