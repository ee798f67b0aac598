"""Image quality through the night: FWHM, zero point and sky background per filter,
drawn against time, a one-line verdict per observation, and the flagged frames with
why (from ``calibrated_frames.quality`` and ``quality_flags``)."""

from __future__ import annotations

import datetime as dt
import html
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import matplotlib

matplotlib.use("Agg")  # files only; never a display

import matplotlib.dates as mdates
from matplotlib.figure import Figure
from sqlalchemy import select
from sqlalchemy.orm import Session

from observatory.db.models import CalibratedFrame, Exposure
from observatory.report.gather import LeftOutRecord
from observatory.report.pictures import DPI, PNG_OPTIONS

PANELS = (
    ("fwhm_arcsec", 'FWHM (")'),
    ("zero_point_mag", "zero point (mag, 1 ADU/s)"),
    # Per second, so that frames of different exposure times compare.
    ("background_adu_per_s", "sky background (ADU/s/px)"),
)


@dataclass(frozen=True)
class QualityRecord:
    date_obs: dt.datetime
    object: str | None
    filter: str | None
    path: str
    quality: dict[str, Any]
    flags: list[str]
    exptime_s: float = 0.0

    def figure(self, key: str) -> float | None:
        """A quality figure, or None when not measured; ``background_adu_per_s`` is the
        background divided by the exposure time."""
        if key == "background_adu_per_s":
            background = self.quality.get("background_adu")
            if background is None or self.exptime_s <= 0:
                return None
            return float(background) / self.exptime_s
        value = self.quality.get(key)
        return None if value is None else float(value)


def gather_quality(session: Session, start: dt.datetime, end: dt.datetime) -> list[QualityRecord]:
    """Calibrated lights taken between ``start`` and ``end`` that have quality figures."""
    rows = session.execute(
        select(CalibratedFrame, Exposure)
        .join(Exposure, CalibratedFrame.exposure_pk == Exposure.pk)
        .where(Exposure.date_obs >= start, Exposure.date_obs < end)
        .where(CalibratedFrame.quality.is_not(None))
        .order_by(Exposure.date_obs)
    )
    return [
        QualityRecord(
            exposure.date_obs,
            exposure.object,
            exposure.filter,
            frame.path,
            dict(frame.quality or {}),
            list(frame.quality_flags),
            exposure.exptime_s,
        )
        for frame, exposure in rows
    ]


def draw_quality(records: Sequence[QualityRecord], path: Path) -> Path | None:
    """FWHM, zero point and background against time, one series per filter; None
    without records."""
    if not records:
        return None
    figure = Figure(figsize=(10.0, 7.0), dpi=DPI)
    filters = sorted({record.filter or "none" for record in records})
    for row, (key, label) in enumerate(PANELS):
        axes = figure.add_subplot(len(PANELS), 1, row + 1)
        for name in filters:
            points = [
                (r.date_obs, value)
                for r in records
                if (r.filter or "none") == name and (value := r.figure(key)) is not None
            ]
            if points:
                axes.plot(*zip(*points, strict=True), "o-", markersize=4, label=name)
        flagged = [
            (r.date_obs, value) for r in records if r.flags and (value := r.figure(key)) is not None
        ]
        if flagged:
            axes.plot(*zip(*flagged, strict=True), "x", color="#b00020", markersize=9)
        axes.set_ylabel(label, fontsize=8)
        axes.tick_params(labelsize=7)
    figure.axes[0].legend(fontsize=7, title="filter", title_fontsize=7)
    figure.axes[-1].set_xlabel("UTC (red x: flagged)", fontsize=8)
    for axes in figure.axes:
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=dt.UTC))
    figure.tight_layout()
    figure.savefig(path, pil_kwargs=PNG_OPTIONS)
    return path


def verdict(records: Sequence[QualityRecord]) -> str:
    """One line on an observation's frames: how many, how many good, how many flagged and
    why (the phrase before the flag's colon), the median FWHM over all of them, and the
    median zero point and limiting magnitude per filter (zero points of different filters
    do not mix), e.g. ``6 frames, 5 good, 1 flagged out of focus; median FWHM 3.1",
    ZP 21.30 (R), limit 19.8 (R)``."""
    flagged = [r for r in records if r.flags]
    counts = [f"{len(records)} frame{'' if len(records) == 1 else 's'}",
              f"{len(records) - len(flagged)} good"]  # fmt: skip
    if flagged:
        reasons = sorted({flag.split(":")[0] for r in flagged for flag in r.flags})
        counts.append(f"{len(flagged)} flagged {' / '.join(reasons)}")
    fwhm = _median(records, "fwhm_arcsec")
    figures = [f'median FWHM {fwhm:.1f}"' if fwhm is not None else "no FWHM"]
    by_filter: dict[str, list[QualityRecord]] = {}
    for record in records:
        by_filter.setdefault(record.filter or "no filter", []).append(record)
    for key, label, digits in (("zero_point_mag", "ZP", 2), ("limiting_mag", "limit", 1)):
        per_filter = [
            f"{value:.{digits}f} ({name})"
            for name, group in by_filter.items()
            if (value := _median(group, key)) is not None
        ]
        if per_filter:
            figures.append(f"{label} {', '.join(per_filter)}")
    return f"{', '.join(counts)}; {', '.join(figures)}"


def quality_caption(quality: dict[str, Any] | None, flags: Sequence[str]) -> str:
    """A frame's quality for its picture's caption (HTML, escaped): FWHM, zero point and
    limit where measured, why a figure is missing, and its flags or "not flagged"."""
    if quality is None:
        return '<span class="quality none">quality not measured</span>'
    shown = [
        form.format(value)
        for key, form in (("fwhm_arcsec", 'FWHM {:.2f}"'), ("zero_point_mag", "ZP {:.2f}"),
                          ("limiting_mag", "limit {:.1f}"), ("ellipticity", "ellipticity {:.2f}"))
        if isinstance(value := quality.get(key), int | float)
    ]  # fmt: skip
    text = html.escape(", ".join(shown) or "no figures")
    notes = quality.get("notes") or []
    if notes:
        text += f'<br><span class="notes">{html.escape("; ".join(map(str, notes)))}</span>'
    if not flags:
        return f'<span class="quality">{text}; not flagged</span>'
    return (
        f'<span class="quality">{text}</span><br>'
        f'<span class="flags">flagged: {html.escape("; ".join(flags))}</span>'
    )


def render_quality_section(records: Sequence[QualityRecord], picture_src: str | None) -> str:
    """The report's ``quality`` section: the picture, a verdict per observation (object),
    and the flagged frames with their flags."""
    if not records:
        return (
            '<section id="quality"><h2>Image quality</h2><p class="none">No frames.</p></section>'
        )
    picture = (
        f'<img id="quality-img" src="{html.escape(quote(picture_src))}" alt="FWHM, zero point'
        ' and sky background through the night">'
        if picture_src
        else ""
    )
    by_object: dict[str, list[QualityRecord]] = {}
    for record in records:
        by_object.setdefault(record.object or "(no object)", []).append(record)
    verdicts = "".join(
        f'<li class="verdict"><b>{html.escape(name)}</b>: {html.escape(verdict(group))}</li>'
        for name, group in by_object.items()
    )
    flagged = "".join(
        f"<tr><td>{r.date_obs:%H:%M:%S}</td><td>{html.escape(r.path)}</td>"
        f"<td>{html.escape('; '.join(r.flags))}</td></tr>"
        for r in records
        if r.flags
    )
    table = (
        "<table><thead><tr><th>UTC</th><th>frame</th><th>flags</th></tr></thead>"
        f"<tbody>{flagged}</tbody></table>"
        if flagged
        else '<p class="none">No frame flagged.</p>'
    )
    return (
        f'<section id="quality"><h2>Image quality ({len(records)} frames)</h2>{picture}'
        f"<ul>{verdicts}</ul>{table}</section>"
    )


def _median(records: Sequence[QualityRecord], key: str) -> float | None:
    values = [r.quality[key] for r in records if r.quality.get(key) is not None]
    return statistics.median(values) if values else None


def render_left_out(records: Sequence[LeftOutRecord]) -> str:
    """The calibration frames flagged and left out of the masters, with why."""
    if not records:
        return (
            '<section id="left-out"><h2>Calibration frames left out of the masters</h2>'
            '<p class="none">No calibration frame was flagged.</p></section>'
        )
    rows = "".join(
        f"<tr><td>{html.escape(r.batch)}</td><td>{html.escape(r.path)}</td>"
        f"<td>{html.escape(r.imagetyp)}</td><td>{html.escape(r.filter or '')}</td>"
        f"<td>{r.exptime_s:g}</td><td>{html.escape('; '.join(r.reasons))}</td></tr>"
        for r in records
    )
    head = "".join(
        f"<th>{h}</th>" for h in ("batch", "frame", "type", "filter", "exposure (s)", "why")
    )
    return (
        f'<section id="left-out"><h2>Calibration frames left out of the masters'
        f" ({len(records)})</h2><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )
