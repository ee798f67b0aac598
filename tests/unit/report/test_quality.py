"""The report's image-quality section: plots through the night, a verdict per
observation, and the flagged frames with why."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from observatory.db.models import CalibratedFrame, Exposure, FileBatch
from observatory.db.session import session_scope
from observatory.report import build_report
from observatory.settings import load_settings
from tests.unit.report.seeding import BATCH, EVENING, NIGHT, seed_night


def set_quality(url: str) -> int:
    """Quality on every seeded frame; the last one flagged as trailed. Returns the count."""
    with session_scope(url) as session:
        frames = session.scalars(select(CalibratedFrame).order_by(CalibratedFrame.pk)).all()
        for number, frame in enumerate(frames):
            frame.quality = {
                "fwhm_arcsec": 3.0 + 0.02 * number, "zero_point_mag": 18.2,
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
    assert (
        f"<b>M 42 &lt;Orion&gt;</b>: {count} frames, {count - 1} good, 1 flagged trailed;"
        " median FWHM 3.0&quot;, ZP 18.20 (R), limit 16.5 (R)</li>"
    ) in text
    assert "trailed: ellipticity 0.45 &gt; 0.3 &lt;sic&gt;" in text  # escaped


def test_a_night_without_quality_figures_says_so(database_url: str, tmp_path: Path) -> None:
    settings = load_settings(database_url=database_url, data_dir=tmp_path)
    seed_night(database_url, settings.products_dir)
    text = build_report(settings, NIGHT, None).read_text(encoding="utf-8")
    assert '<section id="quality"><h2>Image quality</h2><p class="none">No frames.' in text


def test_verdicts_keep_filters_apart_and_captions_say_each_frames_quality(
    database_url: str, tmp_path: Path
) -> None:
    settings = load_settings(database_url=database_url, data_dir=tmp_path)
    seeded = seed_night(database_url, settings.products_dir, n_frames=5)
    with session_scope(database_url) as session:
        frames = [session.get_one(CalibratedFrame, pk) for pk in seeded.frame_pks]
        for number, frame in enumerate(frames[:4]):
            frame.exposure.filter = "R" if number < 2 else "G"
            frame.quality = {
                "fwhm_arcsec": 2.5 + number, "zero_point_mag": 21.0 if number < 2 else 22.0,
                "limiting_mag": 19.0 if number < 2 else 20.5, "ellipticity": 0.1,
                "background_adu": 40.0, "notes": ["no zero point: the frame is <not> solved"]
                if number == 3 else [],
            }  # fmt: skip
        frames[2].quality_flags = ['out of focus: FWHM 4.50" > 4" & <worse>']
        frames[3].quality_flags = ["trailed: ellipticity 0.5 > 0.3", "bright sky: 18 < 19"]

    text = build_report(settings, NIGHT, None).read_text(encoding="utf-8")

    verdict = text.split('<li class="verdict">', 1)[1].split("</li>", 1)[0]
    assert verdict == (
        "<b>M 42 &lt;Orion&gt;</b>: 4 frames, 2 good, 2 flagged bright sky / out of focus"
        " / trailed; median FWHM 4.0&quot;, ZP 21.00 (R), 22.00 (G), limit 19.0 (R), 20.5 (G)"
    )
    assert text.index('id="quality"') < text.index('id="timeline"')  # near the top
    captions = {
        pk: text.split(f'id="frame-{pk}"', 1)[1].split("</figcaption>", 1)[0]
        for pk in seeded.frame_pks
    }
    assert (
        "FWHM 2.50&quot;, ZP 21.00, limit 19.0, ellipticity 0.10; not flagged"
        in captions[seeded.frame_pks[0]]
    )
    assert (
        "flagged: out of focus: FWHM 4.50&quot; &gt; 4&quot; &amp; &lt;worse&gt;"
        in captions[seeded.frame_pks[2]]
    )
    assert "the frame is &lt;not&gt; solved" in captions[seeded.frame_pks[3]]
    assert "quality not measured" in captions[seeded.frame_pks[4]]


def test_calibration_frames_left_out_of_the_masters_are_listed_with_why(
    database_url: str, tmp_path: Path
) -> None:
    settings = load_settings(database_url=database_url, data_dir=tmp_path)
    seed_night(database_url, settings.products_dir)
    reason = "bias level: 1203.0 ADU is +200.0 ADU from the group's median <1003.0>"
    with session_scope(database_url) as session:
        batch = session.scalars(select(FileBatch).where(FileBatch.name == BATCH)).one()
        for number, flags in enumerate([[reason], []]):
            session.add(
                Exposure(
                    file_batch_pk=batch.pk, path=f"bias_{number}.fits", imagetyp="bias",
                    exptime_s=0.0, date_obs=EVENING, quality_flags=flags,
                )
            )  # fmt: skip

    text = build_report(settings, NIGHT, None).read_text(encoding="utf-8")

    section = text.split('<section id="left-out">', 1)[1].split("</section>", 1)[0]
    assert "(1)</h2>" in section and "bias_0.fits" in section and "bias_1.fits" not in section
    assert "from the group&#x27;s median &lt;1003.0&gt;" in section
    assert text.index('id="left-out"') < text.index('id="masters"')
