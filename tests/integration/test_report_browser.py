"""The night report in a real headless Chromium: every picture loads, the page has its
sections, and the screenshot shows the frames.

Image loading is read from the browser itself: a copy of the page (beside it, so relative
links resolve alike) gets a probe script that writes each image's natural size into the
DOM, which ``--dump-dom`` returns. The report itself carries no script.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from observatory.db.migrate import upgrade
from observatory.report import build_report
from observatory.settings import load_settings
from tests.unit.report.seeding import NASTY_ERROR, NIGHT, seed_night

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (scripts/system-deps.sh installs Debian's chromium)",
)

PROBE = """<script>
window.addEventListener("load", () => {
  const out = document.createElement("pre");
  out.id = "image-probe";
  out.textContent = JSON.stringify(Array.from(document.images).map(image => ({
    src: image.getAttribute("src"), complete: image.complete,
    width: image.naturalWidth, height: image.naturalHeight})));
  document.body.appendChild(out);
});
</script>"""


class Dom(HTMLParser):
    """Ids, tags and the text of the probe's ``pre`` in a dumped DOM."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.probe = ""
        self._in_probe = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        element_id = dict(attrs).get("id")
        if element_id:
            self.ids.add(element_id)
        self._in_probe = element_id == "image-probe"

    def handle_endtag(self, tag: str) -> None:
        self._in_probe = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_probe:
            self.probe += data


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        # Lets the load event and the probe run before the DOM is dumped.
        "--virtual-time-budget=10000",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def probe_images(tmp_path: Path, index: Path) -> list[dict[str, object]]:
    probe_page = index.with_name(".probe.html")
    probe_page.write_text(
        index.read_text(encoding="utf-8").replace("</body>", f"{PROBE}</body>"), "utf-8"
    )
    try:
        dom = Dom(chromium(tmp_path, "--dump-dom", probe_page.as_uri()).stdout)
    finally:
        probe_page.unlink()
    assert dom.probe, "the probe script did not run"
    images: list[dict[str, object]] = json.loads(dom.probe)
    return images


@pytest.fixture
def report(tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 'observatory.db'}"
    upgrade(url)
    settings = load_settings(database_url=url, data_dir=tmp_path)
    seed_night(url, settings.products_dir, shape=(300, 400))
    return build_report(settings, NIGHT, None)


def test_every_picture_loads_in_the_browser(tmp_path: Path, report: Path) -> None:
    images = probe_images(tmp_path, report)

    # Timeline, two masters with files, two calibrated frames.
    assert len(images) == 5
    for image in images:
        on_disk = Image.open(report.parent / str(image["src"]))
        assert image["complete"] is True, image
        assert (image["width"], image["height"]) == on_disk.size, image


def test_the_probe_sees_a_broken_picture(tmp_path: Path, report: Path) -> None:
    (report.parent / "timeline.png").unlink()

    images = {str(i["src"]): i for i in probe_images(tmp_path, report)}

    assert images.pop("timeline.png")["width"] == 0
    assert len(images) == 4 and all(int(str(i["width"])) > 0 for i in images.values())


@pytest.mark.slow  # chromium renders and screenshots the page (5 s)
def test_the_page_structure_and_screenshot(tmp_path: Path, report: Path) -> None:
    dom = Dom(chromium(tmp_path, "--dump-dom", report.as_uri()).stdout)

    assert {"summary", "failures", "timeline", "orders", "steps", "masters", "frames"} <= dom.ids
    assert "script" not in dom.tags
    # The failure's markup-like text is shown as text.
    assert NASTY_ERROR in "".join(dom.text)

    shot = tmp_path / "shot.png"
    chromium(tmp_path, "--window-size=1280,4000", f"--screenshot={shot}", report.as_uri())
    grey = np.asarray(Image.open(shot).convert("L"))
    assert grey.shape == (4000, 1280)
    # The frames are noise around the sky level: many mid-grey pixels, which neither the
    # white page nor its black text gives.
    mid_grey = ((grey > 40) & (grey < 215)).mean()
    assert mid_grey > 0.05, f"only {mid_grey:.1%} of the screenshot is picture"
