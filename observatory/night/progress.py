"""Following a work order and the orders it spawned, with a progress bar.

A telescope order counts its exposures against the number it asked for; a processor
order counts its finished steps against the steps of the chain. On a terminal the bar is
redrawn in place; into a file or pipe, one line is printed per change. While the database
is unavailable the follower says so and waits for it, still supervising (``on_poll``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TextIO

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from observatory.db.models import Exposure, FileBatch, StepRun, StepState, WorkOrder
from observatory.db.retry import database_unavailable, retry_unavailable
from observatory.db.session import session_scope
from observatory.orders.states import FINAL_STATES
from observatory.settings import Settings

# The processor's recorded steps, in order (see observatory.processor).
PROCESSOR_STEPS = 8
BAR_WIDTH = 24
DATABASE_WAIT_POLL_S = 1.0


@dataclass(frozen=True)
class OrderOutcome:
    pk: int
    order_id: str
    request: str
    state: str
    reason: str | None
    seconds: float


def expected_units(payload: dict[str, Any]) -> int:
    """How many units (frames or steps) an order's progress bar counts up to."""
    request = payload["request"]
    if request == "observation":
        return sum(spec.get("count", 1) for spec in payload.get("exposures") or [])
    if request == "calibration_frames":
        darks = sum(spec.get("count", 10) for spec in payload.get("darks", []))
        flats = sum(spec.get("count", 10) for spec in payload.get("flats", []))
        return payload.get("bias_count", 0) + darks + flats
    if request in {"calibrate_file_batch", "resume_file_batch", "restart_file_batch"}:
        return PROCESSOR_STEPS
    return 1


def done_units(settings: Settings, order: WorkOrder) -> int:
    """Units done so far: exposures written for a telescope order, steps ended otherwise."""
    with session_scope(settings.sqlalchemy_url) as session:
        if order.queue == "telescope":
            count = session.scalar(
                select(func.count(Exposure.pk))
                .join(FileBatch, Exposure.file_batch_pk == FileBatch.pk)
                .where(FileBatch.work_order_pk == order.pk)
            )
        else:
            count = session.scalar(
                select(func.count(StepRun.pk)).where(
                    StepRun.work_order_pk == order.pk, StepRun.state != StepState.RUNNING
                )
            )
        return int(count or 0)


def render_bar(label: str, done: int, total: int, elapsed_s: float) -> str:
    shown = min(done, total)
    filled = round(BAR_WIDTH * shown / total) if total else BAR_WIDTH
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    return f"  {label:<38} [{bar}] {shown:>3}/{total:<3} {elapsed_s:6.1f} s"


def follow(
    settings: Settings,
    pk: int,
    timeout_s: float,
    out: TextIO = sys.stdout,
    poll_s: float = 0.25,
    on_finish: Callable[[OrderOutcome], None] | None = None,
    on_poll: Callable[[], None] | None = None,
) -> list[OrderOutcome]:
    """Wait for order ``pk`` and, in turn, every order it spawned (and theirs), drawing a
    bar for each; returns their outcomes in the order they were followed. ``on_poll`` is
    called at every poll (the night's stack supervises its children there).

    Raises TimeoutError naming the order when one does not end within ``timeout_s``.
    """
    outcomes: list[OrderOutcome] = []
    pending = [pk]
    while pending:
        current = pending.pop(0)
        outcome = _follow_one(settings, current, timeout_s, out, poll_s, on_poll)
        outcomes.append(outcome)
        if on_finish is not None:
            on_finish(outcome)
        children = retry_unavailable(
            f"reading the orders of {current}", partial(_children, settings, current)
        )
        pending.extend(children)
    return outcomes


def _follow_one(
    settings: Settings,
    pk: int,
    timeout_s: float,
    out: TextIO,
    poll_s: float,
    on_poll: Callable[[], None] | None,
) -> OrderOutcome:
    started = time.monotonic()
    interactive = out.isatty()
    last_done = -1
    away_since: float | None = None
    while True:
        read = _read(settings, pk, out, said=away_since is not None)
        if read is None:
            # The database is away: keep supervising the stack, within the order's time.
            away_since = away_since or time.monotonic()
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(
                    f"work order pk {pk}: database unavailable for {timeout_s:.0f} s"
                )
            if on_poll is not None:
                on_poll()
            time.sleep(DATABASE_WAIT_POLL_S)
            continue
        order, done = read
        if away_since is not None:
            out.write(f"    database back after {time.monotonic() - away_since:.1f} s\n")
            away_since = None
        finished = order.state in FINAL_STATES
        elapsed = time.monotonic() - started
        line = render_bar(
            f"{order.request} {order.order_id}"[:38], done, expected_units(order.payload), elapsed
        )
        if interactive:
            out.write("\r" + line)
        elif done != last_done or finished:
            out.write(line + "\n")
        last_done = done
        if finished:
            reason = f": {order.state_reason}" if order.state_reason else ""
            out.write(("\n" if interactive else "") + f"    -> {order.state}{reason}\n")
            out.flush()
            return OrderOutcome(
                pk, order.order_id, order.request, str(order.state), order.state_reason, elapsed
            )
        out.flush()
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(
                f"work order {order.order_id} ({order.request}) still {order.state} "
                f"after {timeout_s:.0f} s"
            )
        if on_poll is not None:
            on_poll()
        time.sleep(poll_s)


def _read(settings: Settings, pk: int, out: TextIO, said: bool) -> tuple[WorkOrder, int] | None:
    """Order ``pk`` and its units done, or None while the database is unavailable (see
    :func:`observatory.db.retry.database_unavailable`), said on ``out`` unless ``said``."""
    try:
        order = _load(settings, pk)
        return order, done_units(settings, order)
    except DBAPIError as error:
        if not database_unavailable(error):
            raise
        if not said:
            reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
            out.write(f"    database unavailable ({reason}); waiting for it\n")
            out.flush()
        return None


def _load(settings: Settings, pk: int) -> WorkOrder:
    with session_scope(settings.sqlalchemy_url) as session:
        order = session.get_one(WorkOrder, pk)
        session.expunge(order)
        return order


def _children(settings: Settings, pk: int) -> list[int]:
    with session_scope(settings.sqlalchemy_url) as session:
        return list(
            session.scalars(
                select(WorkOrder.pk).where(WorkOrder.parent_pk == pk).order_by(WorkOrder.pk)
            )
        )
