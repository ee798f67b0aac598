"""Shutter spans and the timeline picture."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from PIL import Image

from observatory.report.gather import EventRecord
from observatory.report.timeline import ShutterSpan, draw_timeline, lanes, shutter_spans

START = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)


def at(hours: float) -> dt.datetime:
    return START + dt.timedelta(hours=hours)


def event(hours: float, device: str, name: str) -> EventRecord:
    return EventRecord(at(hours), device, name, {}, None)


def test_open_and_close_make_spans_and_repeats_change_nothing() -> None:
    events = [
        event(6, "dome", "shutter_opened"),
        event(6.5, "dome", "shutter_opened"),  # a repeated command
        event(7, "camera", "shutter_closed"),  # another device's shutter
        event(9, "dome", "shutter_closed"),
        event(9.5, "dome", "shutter_closed"),
        event(10, "dome", "shutter_opened"),
    ]

    assert shutter_spans(events, START) == [
        ShutterSpan(at(6), at(9)),
        ShutterSpan(at(10), None),
    ]


def test_a_close_first_means_open_since_the_window_start() -> None:
    events = [event(1, "dome", "close_requested"), event(2, "dome", "shutter_closed")]

    assert shutter_spans(events, START) == [ShutterSpan(START, at(2))]


def test_lanes_put_known_devices_first() -> None:
    events = [event(1, "weather", "x"), event(2, "camera", "y"), event(3, "dome", "z")]

    assert lanes(events) == ["dome", "camera", "weather"]


def test_no_events_draw_nothing(tmp_path: Path) -> None:
    assert draw_timeline([], START, tmp_path / "t.png") is None
    assert not (tmp_path / "t.png").exists()


def test_the_open_span_is_shaded(tmp_path: Path) -> None:
    events = [
        event(6, "dome", "shutter_opened"),
        event(7, "safetymonitor", "unsafe"),
        event(8, "dome", "shutter_closed"),
    ]

    path = draw_timeline(events, START, tmp_path / "t.png")

    assert path is not None
    pixels = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3)
    shade = (pixels == [0xFF, 0xE9, 0xA8]).all(axis=1).mean()
    alarm = (pixels == [0xC0, 0x39, 0x2B]).all(axis=1).sum()
    # The window is 6:00-8:00 padded by 10 minutes each side: most of the plot is shaded.
    assert shade > 0.3
    assert alarm > 0
