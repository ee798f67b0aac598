"""Write a night's report: gather the rows, draw the pictures, write the page."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from observatory.db.session import session_scope
from observatory.db.types import utcnow
from observatory.errors import FrameFormatUnsupported, NothingToReport
from observatory.report.failures import night_failures
from observatory.report.focus import draw_focus_curves, gather_focus_runs
from observatory.report.gather import NightContent, gather_night
from observatory.report.html import FramePicture, PageInputs, render_page
from observatory.report.night import latest_night
from observatory.report.pictures import render_frame
from observatory.report.quality import draw_quality, gather_quality
from observatory.report.timeline import draw_timeline, shutter_spans
from observatory.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportWritten:
    """Where the page went and what it took."""

    index_path: Path
    night: dt.date
    pictures: int
    problems: int
    seconds: float


def build_report(
    settings: Settings,
    night: dt.date | None = None,
    output: Path | None = None,
    window: tuple[dt.datetime, dt.datetime] | None = None,
) -> Path:
    """Write the report of ``night`` and return the path of its ``index.html``.

    ``night`` is the evening's UTC date (see :mod:`observatory.report.night`); None means
    the night of the most recently received work order. The page and its PNGs go to
    ``output`` or else ``settings.data_dir / "reports" / <night>``; the folder is created
    and existing files of the same names are replaced. Raises NothingToReport when no
    night is named and no work order exists. A product whose file cannot be read here is
    shown (and listed among the failures) with the reason instead of a picture.
    ``window`` (aware UTC start and end, with ``night``) narrows the night to the orders,
    events and batches of that wall-clock span (see :func:`gather_night`).
    """
    return write_report(settings, night, output, window).index_path


def write_report(
    settings: Settings,
    night: dt.date | None = None,
    output: Path | None = None,
    window: tuple[dt.datetime, dt.datetime] | None = None,
) -> ReportWritten:
    """As :func:`build_report`, returning counts and the time taken as well."""
    started = time.perf_counter()
    with session_scope(settings.sqlalchemy_url) as session:
        if night is None:
            night = latest_night(session, settings.site.longitude_deg)
            if night is None:
                raise NothingToReport("no work orders in the database; name a night (YYYY-MM-DD)")
        content = gather_night(session, night, settings.site.longitude_deg, window)
        focus_runs = gather_focus_runs(session, content.start, content.end)
        quality = gather_quality(session, content.start, content.end)
    folder = output if output is not None else settings.data_dir / "reports" / night.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    masters, frames, problems = _draw_products(settings.products_dir, content, folder)
    timeline = draw_timeline(content.events, content.start, folder / "timeline.png")
    curves = draw_focus_curves(focus_runs, folder / "focus.png")
    quality_plot = draw_quality(quality, folder / "quality.png")
    page = PageInputs(
        content=content,
        site_name=settings.site_name,
        generated_at=utcnow(),
        masters=masters,
        frames=frames,
        timeline_src=timeline.name if timeline else None,
        shutter=shutter_spans(content.events, content.start),
        failures=night_failures(content, problems),
        focus_runs=focus_runs,
        focus_src=curves.name if curves else None,
        quality=quality,
        quality_src=quality_plot.name if quality_plot else None,
    )
    index = folder / "index.html"
    _write_atomically(index, render_page(page))
    drawn = (
        sum(1 for p in [*masters.values(), *frames.values()] if p.src)
        + bool(timeline)
        + bool(curves)
        + bool(quality_plot)
    )
    elapsed = time.perf_counter() - started
    log.info("night report %s: %d pictures in %.2f s -> %s", night, drawn, elapsed, index)
    return ReportWritten(index, night, drawn, len(problems), elapsed)


def _draw_products(
    products_dir: Path, content: NightContent, folder: Path
) -> tuple[dict[int, FramePicture], dict[int, FramePicture], dict[str, str]]:
    problems: dict[str, str] = {}
    masters = {
        m.pk: _picture(
            products_dir,
            m.path,
            m.origin_url,
            folder,
            f"masters/master-{m.pk}.png",
            grid=False,
            problems=problems,
        )
        for m in content.masters
    }
    frames = {
        f.pk: _picture(
            products_dir,
            f.path,
            f.origin_url,
            folder,
            f"frames/frame-{f.pk}.png",
            # A header WCS that did not come from a solve (a pointing guess) would mislead.
            grid=f.wcs_status == "solved",
            problems=problems,
        )
        for f in content.calibrated
    }
    return masters, frames, problems


def _picture(
    products_dir: Path,
    relative: str,
    origin_url: str | None,
    folder: Path,
    src: str,
    *,
    grid: bool,
    problems: dict[str, str],
) -> FramePicture:
    """Draw one product, or record in ``problems`` why it cannot be drawn here."""
    try:
        picture = render_frame(products_dir / relative, folder / src, grid=grid)
    except FileNotFoundError:
        where = f"; it is served from {origin_url}" if origin_url else ""
        problem = f"file not found under {products_dir}{where}"
    except (OSError, ValueError, FrameFormatUnsupported) as error:
        # A corrupt or truncated product must not hide the rest of the night.
        problem = f"cannot read the frame: {type(error).__name__}: {error}"
    else:
        return FramePicture(src, None, picture.width_px, picture.height_px, picture.with_grid)
    problems[relative] = problem
    return FramePicture(None, problem)


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
