"""Telescope work orders end to end: intake -> SQL -> Redis -> the telescope worker ->
the simulator -> a FITS batch, its rows, and the follow-up calibration order."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from alpaca.telescope import Telescope
from astropy.io import fits
from sqlalchemy import select

from observatory.db.models import Exposure, FileBatch, Heartbeat, StepRun, WorkOrder
from observatory.db.session import session_scope
from observatory.settings import Settings
from observatory.stack import Stack
from tests.integration.test_dome_orders import order, outcome, submit

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def zenith(settings: Settings) -> dict[str, float]:
    mount = Telescope(settings.devices.telescope_address, 0)
    mount.Connected = True
    return {"ra": float(mount.SiderealTime) * 15.0 % 360.0, "dec": settings.site.latitude_deg}


def check_batch(settings: Settings, pk: int) -> tuple[FileBatch, list[Exposure], dict]:
    """The order's batch row and exposures; checks the manifest against the files."""
    with session_scope(settings.sqlalchemy_url) as session:
        batch = session.scalars(select(FileBatch).where(FileBatch.work_order_pk == pk)).one()
        rows = list(
            session.scalars(
                select(Exposure).where(Exposure.file_batch_pk == batch.pk).order_by(Exposure.pk)
            )
        )
        session.expunge_all()
    folder = Path(batch.path)
    assert folder == settings.batches_dir.resolve() / batch.name
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest == batch.manifest and manifest["complete"] is True
    assert batch.state == "complete" and batch.completed_at is not None
    assert [f["path"] for f in manifest["files"]] == [r.path for r in rows]
    for entry, row in zip(manifest["files"], rows, strict=True):
        content = (folder / entry["path"]).read_bytes()
        assert entry["size"] == len(content)
        assert entry["sha256"] == row.checksum == hashlib.sha256(content).hexdigest()
        with fits.open(folder / entry["path"], checksum=True) as hdul:
            assert hdul[0].header["ORDERPK"] == pk and hdul[0].header["BATCH"] == batch.name
            assert hdul[0].data.shape == (row.naxis2, row.naxis1)
    return batch, rows, manifest


def check_child(settings: Settings, pk: int, batch: FileBatch) -> None:
    with session_scope(settings.sqlalchemy_url) as session:
        [child] = session.scalars(select(WorkOrder).where(WorkOrder.parent_pk == pk)).all()
        assert child.request == "calibrate_file_batch"
        assert child.order_id == f"calibrate-{batch.name}"
        assert child.payload["url"] == batch.path
        assert child.published_at is not None


def test_observation_and_calibration_frames_make_batches(stack: Stack) -> None:
    settings = stack.settings
    plan = [
        {"filter": "R", "exposure_s": 1.0, "count": 1, "binning": 4},
        {"filter": "G", "exposure_s": 2.0, "count": 1, "binning": 4},
    ]
    observation = submit(settings, order("observation", exposures=plan, **zenith(settings)))
    calibration = submit(
        settings,
        order(
            "calibration_frames",
            bias_count=2,
            darks=[{"exposure_s": 1.0, "count": 1}],
            flats=[{"filter": "R", "count": 1, "target_adu": 20000.0}],
            binning=4,
        ),
    )
    for pk in (observation, calibration):
        row = outcome(settings, pk, timeout=240)
        assert row.state == "succeeded", row.state_reason

    batch, rows, _ = check_batch(settings, observation)
    assert batch.name.endswith(f"-observation-{observation}")
    assert [(r.imagetyp, r.filter, r.exptime_s, r.binning) for r in rows] == [
        ("light", "R", 1.0, 4),
        ("light", "G", 2.0, 4),
    ]
    with fits.open(Path(batch.path) / rows[1].path) as hdul:
        header = hdul[0].header
    assert rows[1].path == "light_G_2s_0002.fits"
    assert (header["IMAGETYP"], header["FILTER"], header["EXPTIME"]) == ("Light Frame", "G", 2.0)
    assert header["INSTRUME"] == settings.telescope.instrument
    assert header["XBINNING"] == 4 and header["NAXIS1"] == rows[1].naxis1 == 512
    assert abs(header["DEC"] - settings.site.latitude_deg) < 0.2
    assert "DATE-OBS" in header and "CCD-TEMP" in header
    check_child(settings, observation, batch)

    cal_batch, cal_rows, _ = check_batch(settings, calibration)
    assert [r.imagetyp for r in cal_rows] == ["bias", "bias", "dark", "flat"]
    with fits.open(Path(cal_batch.path) / cal_rows[3].path) as hdul:
        assert hdul[0].header["IMAGETYP"] == "Flat Field"
        assert abs(float(hdul[0].data.mean()) - 20000.0) < 3000.0
    check_child(settings, calibration, cal_batch)

    with session_scope(settings.sqlalchemy_url) as session:
        [run] = session.scalars(select(StepRun).where(StepRun.work_order_pk == observation))
        assert run.step == "observe" and run.outputs["files"] == 2
        beat = session.get_one(Heartbeat, "telescope-worker")
        assert beat.details["phase"] == "idle"
