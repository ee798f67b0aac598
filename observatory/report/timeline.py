"""The night's device timeline: when the dome shutter was open, and every device event as
a mark on its device's lane, drawn as one PNG."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a display

import matplotlib.dates as mdates
from matplotlib.figure import Figure

from observatory.report.gather import EventRecord
from observatory.report.pictures import DPI, PNG_OPTIONS

# Lanes from top to bottom; devices not named here get lanes below, alphabetically.
DEVICE_ORDER = (
    "dome",
    "safetymonitor",
    "supervisor",
    "mount",
    "camera",
    "filterwheel",
    "covercalibrator",
)
OPENED, CLOSED = "shutter_opened", "shutter_closed"
# Events drawn in red: something went wrong or conditions turned bad.
ALARMS = ("unsafe", "error", "failed", "timeout")


@dataclass(frozen=True)
class ShutterSpan:
    """An interval with the shutter open; ``closed_at`` None: still open at the window end."""

    opened_at: dt.datetime
    closed_at: dt.datetime | None


def shutter_spans(events: Sequence[EventRecord], window_start: dt.datetime) -> list[ShutterSpan]:
    """Open-shutter intervals from the dome's ``shutter_opened``/``shutter_closed`` events
    (in time order). A repeated open or close (a command safely repeated) changes nothing;
    a close before any open means the shutter was already open at ``window_start``."""
    spans: list[ShutterSpan] = []
    opened_at: dt.datetime | None = None
    seen_any = False
    for event in events:
        if event.device != "dome" or event.event not in (OPENED, CLOSED):
            continue
        if event.event == OPENED and opened_at is None:
            opened_at = event.at
        elif event.event == CLOSED and opened_at is not None:
            spans.append(ShutterSpan(opened_at, event.at))
            opened_at = None
        elif event.event == CLOSED and not seen_any:
            spans.append(ShutterSpan(window_start, event.at))
        seen_any = True
    if opened_at is not None:
        spans.append(ShutterSpan(opened_at, None))
    return spans


def lanes(events: Sequence[EventRecord]) -> list[str]:
    """The devices with events, in lane order from top to bottom."""
    present = {e.device for e in events}
    known = [d for d in DEVICE_ORDER if d in present]
    return known + sorted(present - set(known))


def draw_timeline(
    events: Sequence[EventRecord], window_start: dt.datetime, png_path: Path
) -> Path | None:
    """Write the timeline PNG of ``events`` (in time order) and return its path, or None
    (and write nothing) when there are no events. Creates ``png_path``'s folder."""
    if not events:
        return None
    spans = shutter_spans(events, window_start)
    names = lanes(events)
    pad = dt.timedelta(minutes=10)
    first = min([events[0].at, *(s.opened_at for s in spans)]) - pad
    last = events[-1].at + pad
    # A lane is 0.35 in tall; 0.6 in below for the time axis, 0.2 in above.
    lanes_in, below_in, above_in = 0.35 * len(names), 0.6, 0.2
    height_in = lanes_in + below_in + above_in
    figure = Figure(figsize=(10, height_in), dpi=DPI)
    axes = figure.add_axes((0.13, below_in / height_in, 0.84, lanes_in / height_in))
    for span in spans:
        opened_x, closed_x = (
            mdates.date2num(span.opened_at),
            mdates.date2num(span.closed_at or last),
        )
        axes.axvspan(opened_x, closed_x, color="#ffe9a8", zorder=0)
        label = "shutter open" if span.closed_at else "shutter open (not closed)"
        axes.text(opened_x, -0.55, f" {label}", fontsize=7, va="bottom", clip_on=True)
    # One plot call per colour: a night may hold thousands of exposure events.
    marks: dict[str, tuple[list[float], list[int]]] = {"#1f4e79": ([], []), "#c0392b": ([], [])}
    for event in events:
        alarm = any(word in event.event for word in ALARMS)
        xs, ys = marks["#c0392b" if alarm else "#1f4e79"]
        xs.append(mdates.date2num(event.at))
        ys.append(len(names) - 1 - names.index(event.device))
    for colour, (xs, ys) in marks.items():
        axes.plot(xs, ys, linestyle="none", marker="|", markersize=12, color=colour)
    axes.set_yticks(range(len(names)), list(reversed(names)), fontsize=8)
    axes.set_ylim(-0.6, len(names) - 0.3)
    axes.set_xlim(mdates.date2num(first), mdates.date2num(last))
    # Ticks on round UTC minutes or hours, whatever the first event's time.
    axes.xaxis.set_major_locator(mdates.AutoDateLocator(tz=dt.UTC, minticks=4, maxticks=12))
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=dt.UTC))
    axes.set_xlabel("UTC", fontsize=8)
    axes.tick_params(axis="x", labelsize=8)
    axes.grid(axis="x", color="#dddddd")
    png_path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(png_path, pil_kwargs=PNG_OPTIONS)
    return png_path
