"""The night report as one self-contained HTML page: inline CSS, no script, pictures by
relative link. Every piece of text from the database goes through :func:`html.escape`."""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from observatory.report.failures import Failure
from observatory.report.focus import FocusRecord, render_focus_section
from observatory.report.gather import (
    CalibratedRecord,
    EventRecord,
    MasterRecord,
    NightContent,
    OrderRecord,
)
from observatory.report.quality import (
    QualityRecord,
    quality_caption,
    render_left_out,
    render_quality_section,
)
from observatory.report.timeline import ShutterSpan

CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fff; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
.meta { color: #555; } nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.state-succeeded { color: #1e7b34; } .state-failed, .state-rejected { color: #b3261e; }
.state-partial, .state-cancelled { color: #9a6700; }
pre { white-space: pre-wrap; word-break: break-word; margin: 0; font-size: 12px; }
figure { display: inline-block; width: 480px; margin: 0 1em 1.5em 0; vertical-align: top; }
figure img { width: 100%; height: auto; border: 1px solid #ccc; }
figcaption { font-size: 12px; }
#timeline-img { max-width: 100%; }
.missing { padding: 2em; background: #fbeaea; border: 1px solid #e0b4b4; }
.none { color: #777; font-style: italic; }
.flags { color: #b3261e; } .notes { color: #777; }
"""


@dataclass(frozen=True)
class FramePicture:
    """The picture of one product: ``src`` relative to the page, or ``problem`` saying why
    there is none."""

    src: str | None
    problem: str | None = None
    width_px: int = 0
    height_px: int = 0
    with_grid: bool = False


@dataclass(frozen=True)
class PageInputs:
    content: NightContent
    site_name: str
    generated_at: dt.datetime
    masters: Mapping[int, FramePicture]
    frames: Mapping[int, FramePicture]
    timeline_src: str | None
    shutter: Sequence[ShutterSpan]
    failures: Sequence[Failure]
    focus_runs: Sequence[FocusRecord] = ()
    focus_src: str | None = None
    quality: Sequence[QualityRecord] = ()
    quality_src: str | None = None


def e(value: object) -> str:
    """Text for HTML content or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def when(instant: dt.datetime | None) -> str:
    return "" if instant is None else f"{instant.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}"


def seconds_between(start: dt.datetime | None, end: dt.datetime | None) -> str:
    return "" if start is None or end is None else f"{(end - start).total_seconds():.1f}"


def render_page(page: PageInputs) -> str:
    """The whole HTML document."""
    content = page.content
    title = f"Night {content.night.isoformat()} - {page.site_name}"
    sections = [
        _summary(page),
        _failures(page.failures),
        render_quality_section(page.quality, page.quality_src),
        _incomplete(content.calibrated),
        _timeline(page),
        render_focus_section(page.focus_runs, page.focus_src),
        _orders(content.orders),
        _steps(content.orders),
        render_left_out(content.left_out),
        _masters(content.masters, page.masters),
        _frames(content.calibrated, page.frames),
    ]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{e(title)}</title>",
            f"<style>{CSS}</style></head><body>",
            f"<h1>Night {e(content.night.isoformat())}</h1>",
            f'<p class="meta">{e(page.site_name)} &middot; {e(when(content.start))} to '
            f"{e(when(content.end))} UTC &middot; generated {e(when(page.generated_at))} UTC</p>",
            '<nav><a href="#failures">Failures</a><a href="#timeline">Timeline</a>'
            '<a href="#quality">Image quality</a><a href="#focus">Autofocus</a>'
            '<a href="#orders">Work orders</a><a href="#steps">Step runs</a>'
            '<a href="#masters">Masters</a><a href="#frames">Calibrated frames</a></nav>',
            *sections,
            "</body></html>",
            "",
        ]
    )


def _table(headers: Iterable[str], rows: Iterable[str], empty: str) -> str:
    body = list(rows)
    if not body:
        return f'<p class="none">{e(empty)}</p>'
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _summary(page: PageInputs) -> str:
    content = page.content
    states: dict[str, int] = {}
    for order in content.orders:
        states[order.state] = states.get(order.state, 0) + 1
    solved = sum(1 for f in content.calibrated if f.wcs_status == "solved")
    open_s = sum(((s.closed_at or content.end) - s.opened_at).total_seconds() for s in page.shutter)
    items = [
        f"{len(content.orders)} work orders"
        + (" (" + ", ".join(f"{n} {s}" for s, n in sorted(states.items())) + ")" if states else ""),
        f"{sum(len(o.steps) for o in content.orders)} step runs",
        f"{len(page.failures)} failures",
        f"{len(content.masters)} master frames",
        f"{len(content.calibrated)} calibrated frames, {solved} with a solved WCS",
        f"shutter open {open_s / 3600:.2f} h in {len(page.shutter)} spans",
    ]
    return (
        '<section id="summary"><ul>'
        + "".join(f"<li>{e(i)}</li>" for i in items)
        + "</ul></section>"
    )


def _failures(failures: Sequence[Failure]) -> str:
    rows = []
    for failure in failures:
        detail = (
            f"<details><summary>traceback</summary><pre>{e(failure.detail)}</pre></details>"
            if failure.detail
            else ""
        )
        rows.append(
            f'<tr class="failure"><td>{e(when(failure.at))}</td><td>{e(failure.source)}</td>'
            f'<td><pre class="message">{e(failure.message)}</pre>{detail}</td></tr>'
        )
    table = _table(["when (UTC)", "what", "message"], rows, "Nothing failed.")
    return f'<section id="failures"><h2>Failures ({len(failures)})</h2>{table}</section>'


def _timeline(page: PageInputs) -> str:
    events = page.content.events
    picture = (
        f'<img id="timeline-img" src="{e(quote(page.timeline_src))}" '
        'alt="device timeline: shutter open spans and device events">'
        if page.timeline_src
        else ""
    )
    rows = [_event_row(event) for event in events]
    table = _table(["at (UTC)", "device", "event", "order", "details"], rows, "No device events.")
    return f'<section id="timeline"><h2>Dome and devices</h2>{picture}{table}</section>'


def _event_row(event: EventRecord) -> str:
    details = json.dumps(event.details, sort_keys=True, default=str) if event.details else ""
    return (
        f"<tr><td>{e(when(event.at))}</td><td>{e(event.device)}</td><td>{e(event.event)}</td>"
        f"<td>{e(event.work_order_pk)}</td><td><pre>{e(details)}</pre></td></tr>"
    )


def _orders(orders: Sequence[OrderRecord]) -> str:
    rows = [
        f'<tr id="order-{o.pk}"><td class="num">{o.pk}</td><td>{e(o.order_id)}</td>'
        f"<td>{e(o.user)}</td><td>{e(o.request)}</td>"
        f'<td class="state-{e(o.state)}">{e(o.state)}</td><td>{e(when(o.received_at))}</td>'
        f"<td>{e(when(o.started_at))}</td><td>{e(when(o.finished_at))}</td>"
        f'<td class="num">{seconds_between(o.started_at, o.finished_at)}</td>'
        f"<td>{e(o.parent_pk)}</td><td><pre>{e(o.state_reason)}</pre></td></tr>"
        for o in orders
    ]
    headers = ["pk", "id", "user", "request", "state", "received", "started", "finished"]
    headers += ["took (s)", "parent", "reason"]
    table = _table(headers, rows, "No work orders this night.")
    return f'<section id="orders"><h2>Work orders ({len(orders)})</h2>{table}</section>'


def _steps(orders: Sequence[OrderRecord]) -> str:
    rows = [
        f'<tr><td>{e(o.order_id)} (#{o.pk})</td><td>{e(s.step)}</td><td class="num">{s.attempt}'
        f'</td><td class="state-{e(s.state)}">{e(s.state)}</td><td>{e(when(s.started_at))}</td>'
        f'<td>{e(when(s.ended_at))}</td><td class="num">{seconds_between(s.started_at, s.ended_at)}'
        f"</td><td>{e(s.worker)}</td><td><pre>{e(s.error)}</pre></td></tr>"
        for o in orders
        for s in o.steps
    ]
    headers = ["order", "step", "attempt", "state", "started", "ended", "took (s)", "worker"]
    table = _table([*headers, "error"], rows, "No step runs this night.")
    return f'<section id="steps"><h2>Step runs ({len(rows)})</h2>{table}</section>'


def _stats(stats: Mapping[str, Any]) -> str:
    return ", ".join(f"{key} {_number(value)}" for key, value in sorted(stats.items()))


def _number(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _figure(kind: str, pk: int, picture: FramePicture | None, caption: str, alt: str) -> str:
    if picture is not None and picture.src is not None:
        src = e(quote(picture.src))
        body = (
            f'<a href="{src}"><img src="{src}" width="{picture.width_px}" '
            f'height="{picture.height_px}" alt="{e(alt)}"></a>'
        )
    else:
        problem = picture.problem if picture is not None else "no picture"
        body = f'<div class="missing">{e(problem)}</div>'
    classes = f"{kind} grid" if picture is not None and picture.with_grid else kind
    figure = f'<figure class="{classes}" id="{kind}-{pk}">'
    return f"{figure}{body}<figcaption>{caption}</figcaption></figure>"


def _masters(masters: Sequence[MasterRecord], pictures: Mapping[int, FramePicture]) -> str:
    figures = []
    for m in masters:
        caption = (
            f"<b>{e(m.kind)}</b> {e(m.group_key)}{' (marked bad)' if m.is_bad else ''}<br>"
            f"{m.n_inputs} inputs, {e(m.method)}, {m.naxis1} x {m.naxis2} px, "
            f"mid-time {e(when(m.date_obs))} UTC<br>batch {e(m.batch)}: {e(m.path)}<br>"
            f"{e(_stats(m.stats))}"
        )
        figures.append(
            _figure("master", m.pk, pictures.get(m.pk), caption, f"master {m.group_key}")
        )
    body = "".join(figures) or '<p class="none">No master frames this night.</p>'
    return f'<section id="masters"><h2>Master frames ({len(masters)})</h2>{body}</section>'


def _frames(frames: Sequence[CalibratedRecord], pictures: Mapping[int, FramePicture]) -> str:
    figures = []
    for f in frames:
        caption = (
            f"<b>{e(f.object or '(no object)')}</b> {e(f.filter or 'no filter')}, "
            f"{f.exptime_s:g} s, {e(when(f.date_obs))} UTC<br>{_wcs_line(f)}<br>"
            f"batch {e(f.batch)}: {e(f.path)}<br>{e(_stats(f.stats))}<br>"
            f"{quality_caption(f.quality, f.quality_flags)}"
        )
        figures.append(_figure("frame", f.pk, pictures.get(f.pk), caption, f"frame {f.path}"))
    body = "".join(figures) or '<p class="none">No calibrated frames this night.</p>'
    return f'<section id="frames"><h2>Calibrated frames ({len(frames)})</h2>{body}</section>'


def _incomplete(frames: Sequence[CalibratedRecord]) -> str:
    """The frames calibrated without a correction they needed, and why."""
    rows = [
        f"<tr><td>{e(f.batch)}</td><td>{e(f.path)}</td><td>{e(name)}</td><td>{e(why)}</td></tr>"
        for f in frames
        for name, why in f.missing.items()
    ]
    count = sum(1 for f in frames if f.missing)
    table = _table(("Batch", "Frame", "Missing", "Why"), rows, "Every frame got every correction.")
    return (
        f'<section id="incomplete"><h2>Frames calibrated without a needed correction '
        f"({count})</h2>{table}</section>"
    )


def _wcs_line(frame: CalibratedRecord) -> str:
    text = f"WCS {frame.wcs_status}"
    if frame.ra_center_deg is not None and frame.dec_center_deg is not None:
        text += f": centre RA {frame.ra_center_deg:.5f} deg, Dec {frame.dec_center_deg:+.5f} deg"
    if frame.pixel_scale_arcsec is not None:
        text += f", {frame.pixel_scale_arcsec:.3f} arcsec/px"
    if frame.solve_time_s is not None:
        text += f", solved in {frame.solve_time_s:.1f} s"
    return f'<span class="wcs-{e(frame.wcs_status)}">{e(text)}</span>'
