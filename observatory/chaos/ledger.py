"""The ledger of a run of nights: what was asked, what became of it, what went wrong.

:func:`audit` reads the database after the stack stopped (SQL is the truth): orders by
state with the reasons of those that did not succeed, orders never finished (lost),
steps that succeeded twice for one order (run twice), and rows that duplicate one product.
The night runner adds what only it saw (dome, processes, memory, disk, faults), and
:meth:`Ledger.problems` says which of the figures that must be zero are not.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select

from observatory.db.models import (
    CalibratedFrame,
    Exposure,
    MasterFrame,
    StepRun,
    StepState,
    WorkOrder,
)
from observatory.db.session import session_scope
from observatory.orders.states import FINAL_STATES

# A long-lived process may need at most this much more resident memory in a later night
# than in the first two (the nights differ in what they do; a leak grows steadily).
MEMORY_GROWTH_FACTOR = 1.5
MEMORY_GROWTH_SLACK_MB = 100.0


@dataclass
class Ledger:
    nights: int
    chaos_seed: int | None
    # The database the nights ran on, and its fault: "sqlite (locked)", "postgresql
    # (stopped and started)", or "postgresql (no database fault: ...)".
    database: str = ""
    elapsed_s: float = 0.0
    orders: dict[str, int] = field(default_factory=dict)
    not_succeeded: list[dict[str, Any]] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    run_twice: list[str] = field(default_factory=list)
    duplicate_rows: dict[str, int] = field(default_factory=dict)
    dome_open_beyond_bound_s: dict[str, float] = field(default_factory=dict)
    dome_bounds_s: dict[str, float] = field(default_factory=dict)
    processes_left: list[str] = field(default_factory=list)
    per_night: list[dict[str, Any]] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Each figure that must be zero and is not, as one line."""
        found = []
        if self.lost:
            found.append(f"{len(self.lost)} orders lost (never finished): {self.lost[:5]}")
        if self.run_twice:
            found.append(f"{len(self.run_twice)} orders ran a step twice: {self.run_twice[:5]}")
        for table, count in self.duplicate_rows.items():
            if count:
                found.append(f"{count} duplicate rows in {table}")
        for condition, seconds in self.dome_open_beyond_bound_s.items():
            if seconds > 0:
                found.append(f"dome open {seconds:.1f} s beyond the bound while {condition}")
        if self.processes_left:
            found.append(f"{len(self.processes_left)} processes left behind")
        found += self.memory_growth()
        unrecovered = [f for f in self.faults if f["applied"] and f["recovery_s"] is None]
        if unrecovered:
            found.append(f"{len(unrecovered)} faults without a recovery: {unrecovered[:3]}")
        return found

    def memory_growth(self) -> list[str]:
        """Processes whose largest resident memory in a night from the third on exceeds
        MEMORY_GROWTH_FACTOR times (plus MEMORY_GROWTH_SLACK_MB) the largest of the first
        two nights, which set the level (one night may do much less than another)."""
        if len(self.per_night) < 3:
            return []
        level: dict[str, float] = {}
        for night in self.per_night[:2]:
            for name, rss_mb in night["max_rss_mb"].items():
                level[name] = max(level.get(name, 0.0), rss_mb)
        grown = []
        for night in self.per_night[2:]:
            for name, rss_mb in night["max_rss_mb"].items():
                if name not in level:
                    continue
                if rss_mb > level[name] * MEMORY_GROWTH_FACTOR + MEMORY_GROWTH_SLACK_MB:
                    grown.append(f"{name} grew to {rss_mb:.0f} MiB on night {night['night']} "
                                 f"(first two nights {level[name]:.0f} MiB)")  # fmt: skip
        return grown

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = asdict(self) | {"problems": self.problems()}
        path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")

    def lines(self) -> list[str]:
        """The ledger as a person reads it."""
        out = [
            f"ledger: {self.nights} nights"
            + (f", chaos seed {self.chaos_seed}" if self.chaos_seed is not None else "")
            + f", {self.elapsed_s / 60:.1f} min"
            + (f"; database {self.database}" if self.database else ""),
            "  orders: " + ", ".join(f"{k} {v}" for k, v in sorted(self.orders.items())),
        ]
        for item in self.not_succeeded:
            out.append(f"    {item['state']:<9} {item['request']:<22} {item['order_id']}: "
                       f"{(item['reason'] or '')[:110]}")  # fmt: skip
        out.append(f"  lost {len(self.lost)}, run twice {len(self.run_twice)}, duplicate rows "
                   f"{sum(self.duplicate_rows.values())}")  # fmt: skip
        open_s = ", ".join(
            f"{k} {v:.1f} s (bound {self.dome_bounds_s.get(k, 0):.0f} s)"
            for k, v in self.dome_open_beyond_bound_s.items()
        )
        out.append(f"  dome open beyond the bound: {open_s}")
        out.append(f"  processes left behind: {len(self.processes_left)}")
        for night in self.per_night:
            memory = ", ".join(f"{k} {v:.0f}" for k, v in sorted(night["max_rss_mb"].items()))
            out.append(f"  night {night['night']}: {night['elapsed_s']:.0f} s, disk "
                       f"{night['disk_mb']:.1f} MiB; max RSS MiB: {memory}")  # fmt: skip
        for fault in self.faults:
            recovery = fault["recovery_s"]
            shown = f"recovered in {recovery:.1f} s" if recovery is not None else fault["error"]
            if not fault["applied"]:
                shown = f"{fault['error']} (not counted)"
            given = fault["spec"]
            spec = f" {given.get('kind', given.get('mode'))}" if given else ""
            out.append(f"  fault night {fault['night']} +{fault['at_s']:.0f} s {fault['kind']} "
                       f"{fault['target']}{spec}: {shown}")  # fmt: skip
        problems = self.problems()
        out.append("  problems: none" if not problems else "  PROBLEMS:")
        out += [f"    {p}" for p in problems]
        return out


def audit(ledger: Ledger, database_url: str, order_pks: set[int] | None = None) -> None:
    """Fill the database figures of ``ledger`` (orders of ``order_pks`` and those they
    spawned; every order when None)."""
    with session_scope(database_url) as session:
        orders = list(session.scalars(select(WorkOrder).order_by(WorkOrder.pk)))
        if order_pks is not None:
            orders = [o for o in orders if o.pk in order_pks or o.parent_pk in order_pks]
        ledger.orders = {"submitted": len(orders)}
        for order in orders:
            state = str(order.state)
            ledger.orders[state] = ledger.orders.get(state, 0) + 1
            if order.state not in FINAL_STATES:
                ledger.lost.append(order.order_id)
            elif state != "succeeded":
                item = {"order_id": order.order_id, "request": order.request, "state": state}
                ledger.not_succeeded.append(item | {"reason": order.state_reason})
        twice = (
            select(StepRun.work_order_pk, StepRun.step)
            .where(StepRun.state == StepState.SUCCEEDED)
            .group_by(StepRun.work_order_pk, StepRun.step)
            .having(func.count() > 1)
        )
        ids = {o.pk: o.order_id for o in orders}
        ledger.run_twice = sorted({ids[pk] for pk, _ in session.execute(twice) if pk in ids})
        ledger.duplicate_rows = {
            name: _duplicates(session, query) for name, query in _DUPLICATE_QUERIES.items()
        }


# Each groups the rows that must be unique; its Select type varies with the columns.
_DUPLICATE_QUERIES: dict[str, Any] = {
    "work_orders (order_id, user)": select(WorkOrder.order_id, WorkOrder.user).group_by(
        WorkOrder.order_id, WorkOrder.user
    ),
    # An exposure's path is relative to its batch folder.
    "exposures (batch, path, detector)": select(
        Exposure.file_batch_pk, Exposure.path, Exposure.detector
    ).group_by(Exposure.file_batch_pk, Exposure.path, Exposure.detector),
    "master_frames (batch, group, size)": select(
        MasterFrame.file_batch_pk, MasterFrame.group_key, MasterFrame.naxis1, MasterFrame.naxis2
    )
    .where(MasterFrame.file_batch_pk.is_not(None))
    .group_by(
        MasterFrame.file_batch_pk, MasterFrame.group_key, MasterFrame.naxis1, MasterFrame.naxis2
    ),
    "master_frames (path)": select(MasterFrame.path).group_by(MasterFrame.path),
    "calibrated_frames (exposure)": select(CalibratedFrame.exposure_pk).group_by(
        CalibratedFrame.exposure_pk
    ),
    "calibrated_frames (path)": select(CalibratedFrame.path).group_by(CalibratedFrame.path),
}


def _duplicates(session: Any, grouped: Select[Any]) -> int:
    """Rows beyond the first in each group of ``grouped``."""
    counted = grouped.add_columns(func.count().label("n")).having(func.count() > 1).subquery()
    extra = session.scalar(select(func.coalesce(func.sum(counted.c.n - 1), 0)))
    return int(extra or 0)
