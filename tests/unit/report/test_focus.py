"""The report's autofocus section: a run that focused and one that failed, with their
V-curves drawn and the failure's reason shown."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from observatory.db.models import FocusRun
from observatory.db.session import session_scope
from observatory.report import build_report
from observatory.settings import load_settings
from tests.unit.report.seeding import EVENING, NIGHT, seed_night

POSITIONS = [29940, 29980, 30020, 30060, 30100, 30140, 30180, 30220, 30260]


def seed_focus_runs(url: str) -> None:
    focused = FocusRun(
        at=EVENING + dt.timedelta(hours=1), filter="L", temperature_c=9.5, exposure_s=5.0,
        positions=POSITIONS, hfd_px=[9.1, 7.3, 5.4, 3.6, 2.0, 2.2, 3.9, 5.8, 7.6],
        stars=[30] * 9, fit={"a_px": 1.9, "b_steps": 20.0, "c_steps": 30108.0, "rms_px": 0.1},
        best_position=30108.0, position_before=30100, position_after=30108,
    )  # fmt: skip
    failed = FocusRun(
        at=EVENING + dt.timedelta(hours=3), filter="R", temperature_c=8.0, exposure_s=5.0,
        positions=POSITIONS, hfd_px=[3.0, 3.5, 4.1, 4.6, 5.2, 5.9, 6.5, 7.0, 7.8],
        stars=[30] * 9, position_before=30100, position_after=30100,
        reason="the smallest HFD (3.00 px) is at the end of the sweep <edge>",
    )  # fmt: skip
    with session_scope(url) as session:
        session.add_all([focused, failed])


def test_the_report_shows_each_autofocus_run_and_its_curve(
    database_url: str, tmp_path: Path
) -> None:
    settings = load_settings(database_url=database_url, data_dir=tmp_path)
    seed_night(database_url, settings.products_dir)
    seed_focus_runs(database_url)

    index = build_report(settings, NIGHT, None)

    text = index.read_text(encoding="utf-8")
    assert '<section id="focus"><h2>Autofocus (2)</h2>' in text
    assert (index.parent / "focus.png").stat().st_size > 1000
    assert 'src="focus.png"' in text
    assert "<td>30100</td><td>30108</td><td>1.90 px</td><td>focused</td>" in text
    assert "end of the sweep &lt;edge&gt;" in text  # escaped


def test_a_night_without_autofocus_says_so(database_url: str, tmp_path: Path) -> None:
    settings = load_settings(database_url=database_url, data_dir=tmp_path)
    seed_night(database_url, settings.products_dir)
    text = build_report(settings, NIGHT, None).read_text(encoding="utf-8")
    assert "No autofocus runs." in text
    assert not (tmp_path / "reports" / NIGHT.isoformat() / "focus.png").exists()
