"""The report's image-quality section: plots through the night, a verdict per
observation, and the flagged frames with why."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from observatory.db.models import CalibratedFrame
from observatory.db.session import session_scope
from observatory.report import build_report
from observatory.settings import load_settings
from tests.unit.report.seeding import NIGHT, seed_night


def set_quality(url: str) -> int:
    """Quality on every seeded frame; the last one flagged as trailed. Returns the count."""
    with session_scope(url) as session:
        frames = session.scalars(select(CalibratedFrame).order_by(CalibratedFrame.pk)).all()
        for number, frame in enumerate(frames):
            frame.quality = {
                "fwhm_arcsec": 3.0 + 0.1 * number, "zero_point_mag": 18.2,
                "background_adu": 50.0 + number, "limiting_mag": 16.5,
            }  # fmt: skip
        frames[-1].quality_flags = ["trailed: ellipticity 0.45 > 0.3 <sic>"]
        return len(frames)


def test_the_report_plots_quality_and_says_which_frames_are_flagged(
    database_url: str, tmp_path: Path
) -> None:
    settings = load_settings(database_url=database_url, data_dir=tmp_path)
    seed_night(database_url, settings.products_dir)
    count = set_quality(database_url)

    index = build_report(settings, NIGHT, None)

    text = index.read_text(encoding="utf-8")
    assert f'<section id="quality"><h2>Image quality ({count} frames)</h2>' in text
    assert (index.parent / "quality.png").stat().st_size > 1000 and 'src="quality.png"' in text
    assert f"<b>M 42 &lt;Orion&gt;</b>: {count} frames, FWHM 3." in text
    assert "limit 16.5 mag: 1 flagged (trailed)</li>" in text
    assert "trailed: ellipticity 0.45 &gt; 0.3 &lt;sic&gt;" in text  # escaped


def test_a_night_without_quality_figures_says_so(database_url: str, tmp_path: Path) -> None:
    settings = load_settings(database_url=database_url, data_dir=tmp_path)
    seed_night(database_url, settings.products_dir)
    text = build_report(settings, NIGHT, None).read_text(encoding="utf-8")
    assert '<section id="quality"><h2>Image quality</h2><p class="none">No frames.' in text
