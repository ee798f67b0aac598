"""One simulated night on the embedded stack, from work orders (``observatory run``).

1. The stack starts (its own Redis, SQLite, the simulator, a worker per queue, the safety
   supervisor) on a simulated clock that reads dusk at the site.
2. Dusk calibration frames: biases, darks for the exposure times the night uses, flats per
   filter; the telescope hands the batch to the processor, which makes the masters.
3. Observations of the two highest well-known targets, each in two filters; each batch is
   calibrated with the night's masters and plate-solved.
4. The dome is closed and parked; the summary and the night report close the run.

Every order, and every order it spawned, is followed to its end with a progress bar.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, TextIO

from observatory.clock import simulated_clock
from observatory.db.retry import retry_unavailable
from observatory.intake import Receipt
from observatory.night.plan import Target, highest_targets, next_dusk
from observatory.night.progress import OrderOutcome, follow
from observatory.night.summary import NightSummary, summarise
from observatory.settings import Settings
from observatory.stack import Stack

Submit = Callable[[dict[str, Any], Settings], Receipt]


class NightHooks(Protocol):
    """What a chaos night adds to a night (see :mod:`observatory.chaos.nights`)."""

    with_beat: bool

    def started(self, stack: Stack) -> None: ...

    def poll(self) -> None: ...

    def finishing(self, stack: Stack) -> None: ...


FILTERS = ("R", "G")
LIGHT_EXPOSURE_S = 20.0
LIGHTS_PER_FILTER = 2
CALIBRATION_COUNT = 5
# The Sun this far below the horizon when the simulated night starts.
DUSK_SUN_ALTITUDE_DEG = -15.0


@dataclass
class NightResult:
    outcomes: list[OrderOutcome] = field(default_factory=list)
    summary: NightSummary | None = None
    elapsed_s: float = 0.0

    @property
    def succeeded(self) -> bool:
        return bool(self.outcomes) and all(o.state == "succeeded" for o in self.outcomes)


def night_settings(settings: Settings, time_scale: float, now_utc: dt.datetime) -> Settings:
    """The settings of a simulated night: the bundled simulator, and one clock starting at
    the next dusk at the site, shared by the observatory and the simulator."""
    dusk = next_dusk(now_utc - dt.timedelta(hours=12), settings.site, DUSK_SUN_ALTITUDE_DEG)
    return settings.model_copy(
        update={
            "clock": simulated_clock(dusk, time_scale),
            "simulator": settings.simulator.model_copy(
                update={"enabled": True, "time_scale": time_scale}
            ),
        }
    )


def night_orders(targets: list[Target], tag: str) -> list[dict[str, Any]]:
    """The night's work orders, in the order they are submitted."""
    now = dt.datetime.now(dt.UTC).isoformat()

    def order(number: int, request: str, **fields: Any) -> dict[str, Any]:
        return {"id": f"night-{tag}-{number}", "request": request, "user": "night",
                "datetime": now, **fields}  # fmt: skip

    orders = [
        order(1, "dome_status"),
        order(
            2,
            "calibration_frames",
            bias_count=CALIBRATION_COUNT,
            darks=[{"exposure_s": LIGHT_EXPOSURE_S, "count": CALIBRATION_COUNT}],
            flats=[{"filter": name, "count": CALIBRATION_COUNT} for name in FILTERS],
        ),
        # Focus on the zenith's stars before the first light (the focuser's offsets per
        # filter keep it in focus through the filter changes after).
        order(3, "autofocus", filter=FILTERS[0]),
    ]
    for number, target in enumerate(targets, start=4):
        exposures = [
            {"filter": name, "exposure_s": LIGHT_EXPOSURE_S, "count": LIGHTS_PER_FILTER}
            for name in FILTERS
        ]
        orders.append(
            order(number, "observation", target=target.name, ra=target.ra_deg,
                  dec=target.dec_deg, exposures=exposures)
        )  # fmt: skip
    number = len(orders) + 1
    orders += [order(number, "dome_close"), order(number + 1, "dome_park")]
    return orders


def run_night(
    settings: Settings,
    submit: Submit,
    *,
    timeout_s: float = 600.0,
    out: TextIO = sys.stdout,
    hooks: NightHooks | None = None,
) -> NightResult:
    """Start the stack on ``settings`` (see :func:`night_settings`), run the night's orders
    one after the other (each with the orders it spawned), stop the stack; returns the
    outcomes and the summary. Raises TimeoutError when an order does not end in time,
    unless ``hooks`` keep going (then the order's outcome says it timed out).

    ``hooks`` (a chaos night's) see the started stack, every poll, and the end."""
    result = NightResult()
    started = time.monotonic()
    clock = settings.clock
    assert clock.start_utc is not None, "a night runs on a simulated clock (night_settings)"
    first_light = clock.start_utc + dt.timedelta(minutes=30)
    targets = [
        target
        for target, _ in highest_targets(
            first_light, settings.site, 2, settings.telescope.altitude_limit_deg + 10.0
        )
    ]
    print(
        f"night at {settings.site_name}: dusk {clock.start_utc:%Y-%m-%d %H:%M} UTC (simulated,"
        f" x{clock.time_scale:g}); targets {', '.join(t.name for t in targets)}",
        file=out,
    )
    stack = Stack(settings, with_beat=hooks is not None and hooks.with_beat)
    try:
        database = "SQLite" if settings.sqlalchemy_url.startswith("sqlite") else "PostgreSQL"
        print(f"starting the embedded stack (Redis, {database}, simulator, workers, "
              "supervisor)...", file=out, flush=True)  # fmt: skip
        stack.start()
        if hooks is not None:
            hooks.started(stack)

        def poll() -> None:
            stack.check()
            if hooks is not None:
                hooks.poll()

        orders = night_orders(targets, uuid.uuid4().hex[:6])
        for number, order in enumerate(orders, 1):
            print(f"[{number}/{len(orders)}] {order['request']}", file=out, flush=True)
            # Stored first (SQL is the truth): through a database outage, tried again.
            receipt = retry_unavailable(
                f"submitting {order['id']}", partial(submit, order, settings)
            )
            try:
                result.outcomes += follow(settings, receipt.pk, timeout_s, out, on_poll=poll)
            except TimeoutError as error:
                if hooks is None:
                    raise
                print(f"    -> {error}; going on", file=out, flush=True)
                result.outcomes.append(OrderOutcome(receipt.pk, receipt.order_id,
                    order["request"], "timed out", str(error), timeout_s))  # fmt: skip
    finally:
        try:
            if hooks is not None:
                hooks.finishing(stack)
        finally:
            stack.stop()
            result.elapsed_s = time.monotonic() - started
    result.summary = summarise(settings, [o.pk for o in result.outcomes])
    return result
