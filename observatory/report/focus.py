"""The night's autofocus runs: read from ``focus_runs``, drawn as V-curves, and shown as a
table with the best position, the HFD there, the temperature and why a run failed."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import matplotlib

matplotlib.use("Agg")  # files only; never a display

import numpy as np
from matplotlib.figure import Figure
from sqlalchemy import select
from sqlalchemy.orm import Session

from observatory.db.models import FocusRun
from observatory.report.pictures import DPI, PNG_OPTIONS
from observatory.telescope.focus_curve import hyperbola


@dataclass(frozen=True)
class FocusRecord:
    at: dt.datetime
    work_order_pk: int | None
    filter: str | None
    temperature_c: float | None
    positions: list[int]
    hfd_px: list[float | None]
    fit: dict[str, Any]
    best_position: float | None
    position_before: int
    position_after: int
    reason: str | None


def gather_focus_runs(session: Session, start: dt.datetime, end: dt.datetime) -> list[FocusRecord]:
    """The autofocus runs between ``start`` and ``end``, in time order."""
    runs = session.scalars(
        select(FocusRun).where(FocusRun.at >= start, FocusRun.at < end).order_by(FocusRun.at)
    )
    return [_record(run) for run in runs]


def _record(run: FocusRun) -> FocusRecord:
    return FocusRecord(
        at=run.at, work_order_pk=run.work_order_pk, filter=run.filter,
        temperature_c=run.temperature_c, positions=list(run.positions),
        hfd_px=list(run.hfd_px), fit=dict(run.fit), best_position=run.best_position,
        position_before=run.position_before, position_after=run.position_after,
        reason=run.reason,
    )  # fmt: skip


def draw_focus_curves(runs: Sequence[FocusRecord], path: Path) -> Path | None:
    """One panel per run: the measured HFDs and the fitted V-curve; None without runs."""
    if not runs:
        return None
    columns = min(len(runs), 3)
    rows = -(-len(runs) // columns)
    figure = Figure(figsize=(4.0 * columns, 3.0 * rows), dpi=DPI)
    for index, run in enumerate(runs):
        axes = figure.add_subplot(rows, columns, index + 1)
        measured = [(p, h) for p, h in zip(run.positions, run.hfd_px, strict=True) if h is not None]
        if measured:
            axes.plot(*zip(*measured, strict=True), "o", color="#1f5fa8")
        if run.fit:
            x = np.linspace(min(run.positions), max(run.positions), 200)
            y = hyperbola(x, run.fit["a_px"], run.fit["b_steps"], run.fit["c_steps"])
            axes.plot(x, y, "-", color="#d2691e")
            axes.axvline(run.fit["c_steps"], color="#d2691e", linestyle=":")
        title = f"{run.at:%H:%M} {run.filter or ''} {_temperature(run)}"
        axes.set_title(title if run.reason is None else f"{title} (failed)", fontsize=9)
        axes.set_xlabel("focuser position (steps)", fontsize=8)
        axes.set_ylabel("HFD (px)", fontsize=8)
        axes.tick_params(labelsize=7)
    figure.tight_layout()
    figure.savefig(path, pil_kwargs=PNG_OPTIONS)
    return path


def render_focus_section(runs: Sequence[FocusRecord], picture_src: str | None) -> str:
    """The report's ``focus`` section: the curves' picture and one row per run."""
    rows = "".join(
        "<tr>"
        f"<td>{run.at:%Y-%m-%d %H:%M:%S}</td><td>{run.work_order_pk or ''}</td>"
        f"<td>{html.escape(run.filter or '')}</td><td>{_temperature(run)}</td>"
        f"<td>{run.position_before}</td><td>{run.position_after}</td>"
        f"<td>{_hfd(run)}</td><td>{html.escape(run.reason or 'focused')}</td>"
        "</tr>"
        for run in runs
    )
    if not runs:
        return (
            '<section id="focus"><h2>Autofocus</h2><p class="none">No autofocus runs.</p></section>'
        )
    picture = (
        f'<img id="focus-img" src="{html.escape(quote(picture_src))}" alt="V-curves of the'
        ' autofocus runs">'
        if picture_src
        else ""
    )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("at (UTC)", "order", "filter", "temperature", "before", "after", "HFD", "outcome")
    )
    return (
        f'<section id="focus"><h2>Autofocus ({len(runs)})</h2>{picture}'
        f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _temperature(run: FocusRecord) -> str:
    return "" if run.temperature_c is None else f"{run.temperature_c:.1f} C"


def _hfd(run: FocusRecord) -> str:
    return f"{run.fit['a_px']:.2f} px" if run.fit else ""
