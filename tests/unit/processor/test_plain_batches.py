"""A night as a capture program leaves it (subfolders per frame type and target, logs and
previews beside the frames, no manifest) calibrated by the processor, the originals
left exactly as they were."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from observatory.db.models import CalibratedFrame, Exposure, StepRun
from observatory.db.session import session_scope
from observatory.settings import Settings
from tests.unit.processor.conftest import Night, batch_url, run_chain
from tests.unit.transfer.test_plain_folders import snapshot

LAYOUT = {"bias": "zero", "dark": "dark", "flat": "flat/R", "light": "science/M31"}


def capture_folder(settings: Settings, night: Night) -> Path:
    """The night's frames moved into per-type subfolders; the manifest removed; two
    lights of one name in two target folders; a log and JPEG previews beside them."""
    frames = [*night.bias[:3], *night.darks[:3], *night.flats[:3], *night.lights[:2]]
    folder = Path(batch_url(settings, "2026-11-23", frames).removeprefix("file://"))
    (folder / "manifest.json").unlink()
    for path in sorted(folder.glob("*.fits")):
        kind = path.name.split("_", 1)[0]
        target = folder / LAYOUT[kind] / path.name.replace(".fits", ".FIT")
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    lights = sorted((folder / "science/M31").glob("*.FIT"))
    (folder / "science/M42").mkdir()
    lights[1].rename(folder / "science/M42" / lights[0].name)
    (folder / "NINA-2026-11-23.log").write_text("exposure started\n")
    (folder / "science/M31" / (lights[0].stem + ".jpg")).write_bytes(b"\xff\xd8 preview")
    return folder


@pytest.mark.slow
def test_a_capture_folder_is_calibrated_and_left_as_it_was(
    settings: Settings, night: Night
) -> None:
    folder = capture_folder(settings, night)
    before = snapshot(folder)
    outcomes = run_chain(settings, str(folder), ("bias", "dark", "flat_dark", "flat", "light"))
    assert all(o["ok"] for units in outcomes.values() for o in units), outcomes
    assert snapshot(folder) == before
    with session_scope(settings.sqlalchemy_url) as session:
        paths = sorted(e.path for e in session.scalars(select(Exposure)))
        calibrated = sorted(f.path for f in session.scalars(select(CalibratedFrame)))
        ingest = session.scalars(select(StepRun).where(StepRun.step == "ingest")).one()
        transfer = session.scalars(select(StepRun).where(StepRun.step == "transfer")).one()
    assert len(paths) == 11 and all(p.endswith(".FIT") and "/" in p for p in paths)
    light_name = Path(calibrated[0]).name
    assert calibrated == [
        f"2026-11-23/calibrated/science/M31/{light_name}",
        f"2026-11-23/calibrated/science/M42/{light_name}",
    ]
    assert all((settings.products_dir / path).is_file() for path in calibrated)
    assert transfer.outputs is not None and transfer.outputs["manifest_computed"] is True
    assert (transfer.outputs["files"], transfer.outputs["ignored_count"]) == (11, 2)
    assert ingest.outputs is not None and ingest.outputs["ignored_count"] == 2
    assert set(ingest.outputs["ignored"]) == {
        "NINA-2026-11-23.log", f"science/M31/{Path(light_name).stem}.jpg"
    }  # fmt: skip
