"""The whole report from a seeded database: pictures, escaping, timeline, the night's
bounds, the default night, and the command line."""

from __future__ import annotations

import datetime as dt
import html
from html.parser import HTMLParser
from pathlib import Path

import pytest

from observatory.cli.main import main
from observatory.errors import NothingToReport
from observatory.report import build_report, write_report
from observatory.settings import Settings, get_settings, load_settings
from tests.unit.report.seeding import (
    BATCH,
    CANCEL_REASON,
    NASTY_ERROR,
    NIGHT,
    seed_night,
)


class Page(HTMLParser):
    """The parts of the page the tests look at: images, elements by id, script tags."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.images: list[dict[str, str | None]] = []
        self.ids: dict[str, list[str]] = {}
        self.tags: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if tag == "img":
            self.images.append(values)
        if values.get("id"):
            self.ids.setdefault(str(values["id"]), []).append(tag)


def settings_for(url: str, data_dir: Path) -> Settings:
    return load_settings(database_url=url, data_dir=data_dir)


def test_report_shows_every_product_failure_and_the_timeline(
    database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(database_url, tmp_path)
    seeded = seed_night(database_url, settings.products_dir)

    index = build_report(settings, NIGHT, None)

    assert index == tmp_path / "reports" / "2026-11-23" / "index.html"
    text = index.read_text(encoding="utf-8")
    page = Page(text)
    # Every master with a file and every calibrated frame has its picture beside the page.
    for pk in seeded.master_pks[:2]:
        assert f"master-{pk}" in page.ids
    sources = {str(img["src"]) for img in page.images}
    expected = {f"masters/master-{pk}.png" for pk in seeded.master_pks[:2]}
    expected |= {f"frames/frame-{pk}.png" for pk in seeded.frame_pks}
    expected.add("timeline.png")
    assert sources == expected
    for src in sources:
        assert (index.parent / src).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The master whose file is missing says so, and is listed among the failures.
    assert f"master-{seeded.master_pks[2]}" in page.ids
    assert f"picture of {seeded.missing_master_path}" in text
    # Failure text is escaped: it appears as text, never as markup.
    assert html.escape(NASTY_ERROR) in text
    assert "<script" not in text and "script" not in page.tags
    assert "<b>bold</b>" not in text
    assert html.escape(CANCEL_REASON) in text
    assert "Traceback (most recent call last):" in text
    # The frame calibrated without its flat is listed with why.
    assert "Frames calibrated without a needed correction (1)" in text
    assert f"<td>{BATCH}/calibrated_0002.fits</td><td>flat</td>" in text
    assert "no master flat for filter R" in text
    # The timeline and its events.
    assert "timeline-img" in page.ids
    assert "shutter_opened" in text and "unsafe" in text
    # The night before stays out; the orders of this night are in.
    assert "old-1" not in text and "yesterday" not in text
    assert f"calibrate-{BATCH}" in text and "observation-2" in text
    assert "M 42 &lt;Orion&gt;" in text
    assert "WCS solved" in text and "WCS failed" in text
    # Only the solved frame gets an RA/Dec grid.
    solved, unsolved = seeded.frame_pks
    assert f'<figure class="frame grid" id="frame-{solved}">' in text
    assert f'<figure class="frame" id="frame-{unsolved}">' in text


def test_default_night_is_the_latest_with_orders_and_output_overrides(
    database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(database_url, tmp_path)
    seed_night(database_url, settings.products_dir)
    output = tmp_path / "elsewhere"

    written = write_report(settings, None, output)

    assert written.night == NIGHT
    assert written.index_path == output / "index.html"
    # Four frames with files plus the timeline; one master has no file.
    assert (written.pictures, written.problems) == (5, 1)
    assert not (tmp_path / "reports").exists()


def test_an_unreadable_product_is_shown_and_listed_and_the_rest_drawn(
    database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(database_url, tmp_path)
    seeded = seed_night(database_url, settings.products_dir)
    (settings.products_dir / BATCH / "master_bias.fits").write_bytes(b"not a FITS file" * 300)

    written = write_report(settings, NIGHT, None)

    text = written.index_path.read_text(encoding="utf-8")
    assert f"picture of {BATCH}/master_bias.fits" in text
    assert "cannot read the frame: OSError" in text
    assert (written.pictures, written.problems) == (4, 2)
    assert (written.index_path.parent / f"frames/frame-{seeded.frame_pks[0]}.png").is_file()


def test_an_empty_database_has_nothing_to_report(database_url: str, tmp_path: Path) -> None:
    with pytest.raises(NothingToReport):
        build_report(settings_for(database_url, tmp_path), None, None)


def test_a_named_night_without_data_gives_an_empty_page(database_url: str, tmp_path: Path) -> None:
    index = build_report(settings_for(database_url, tmp_path), dt.date(2020, 1, 1), None)

    text = index.read_text(encoding="utf-8")
    assert "No work orders this night." in text and "No device events." in text
    assert not (index.parent / "timeline.png").exists()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_command_line_prints_the_page_path(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = settings_for(database_url, tmp_path)
    seed_night(database_url, settings.products_dir)
    monkeypatch.setenv("OBSERVATORY_DATABASE_URL", database_url)
    monkeypatch.setenv("OBSERVATORY_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert main(["report", "2026-11-23"]) == 0
        out, err = capsys.readouterr()
        index = Path(out.strip())
        assert index == tmp_path / "reports" / "2026-11-23" / "index.html"
        assert index.is_file()
        assert "4 pictures" not in err and "5 pictures" in err
        # A date in another form: argparse's usage error, exit 2.
        with pytest.raises(SystemExit) as bad:
            main(["report", "23/11/2026"])
        assert bad.value.code == 2 and "YYYY-MM-DD" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()
