"""Telescope work orders end to end: intake -> SQL -> Redis -> the telescope worker ->
the simulator -> a FITS batch, its rows, and the follow-up calibration order."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alpaca.telescope import Telescope
from astropy.io import fits
from sqlalchemy import select

from observatory.clock import simulated_clock
from observatory.db.models import Exposure, FileBatch, Heartbeat, StepRun, WorkOrder
from observatory.db.session import session_scope
from observatory.settings import Settings
from observatory.simulator.address import DEVICE_ROLES
from observatory.stack import Stack
from tests.helpers import free_port, wait_for
from tests.integration.conftest import worker_ready
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


# --- the original design's words, as written, on a simulated night ----------------------

# At this instant (simulated) the night is dark at the site and both the design's example
# field (RA 132.2, Dec +34.3) and M 31 stand about 42 degrees high.
DESIGN_NIGHT_UTC = dt.datetime(2026, 12, 7, 0, 0, tzinfo=dt.UTC)
DESIGN_EXAMPLE = {
    "id": "1",
    "request": "observation",
    "priority": None,
    "datetime": "2019-03-05T14:34:54.234",
    "ra": 132.23356,
    "dec": 34.254534,
    "user": "Main Module",
}


@pytest.fixture(scope="module")
def design_night(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """A stack of its own whose simulated clock reads :data:`DESIGN_NIGHT_UTC`, with the
    embedded default's settings (its default exposure plan and filter wheel)."""
    data_dir = tmp_path_factory.mktemp("design-night")
    simulator = f"127.0.0.1:{(port := free_port())}"
    settings = stack_settings.model_copy(
        update={
            "data_dir": data_dir,
            "database_url": f"sqlite:///{data_dir / 'observatory.db'}",
            "embedded_redis_port": free_port(),
            "clock": simulated_clock(DESIGN_NIGHT_UTC, 20.0),
            "simulator": stack_settings.simulator.model_copy(update={"port": port}),
            "devices": stack_settings.devices.model_copy(
                update={f"{role}_address": simulator for role in DEVICE_ROLES}
            ),
        }
    )
    running = Stack(settings, processor_concurrency=1, with_beat=False)
    try:
        running.start()
        for queue in ("dome", "telescope", "processor"):
            wait_for(
                lambda q=queue: worker_ready(running.log_path(f"worker-{q}")),
                90,
                message=f"the {queue} worker to be ready",
            )
        yield running
    finally:
        running.stop()


def cli_submit(stack: Stack, order: dict[str, Any], *extra: str) -> subprocess.CompletedProcess:
    """``observatory submit - [extra]`` as an operator runs it against ``stack``."""
    return subprocess.run(
        [sys.executable, "-m", "observatory.cli.main", "submit", "-", *extra],
        input=json.dumps(order),
        env={**os.environ, **stack.child_env()},
        capture_output=True,
        text=True,
        timeout=280,
    )


def stored_payload(settings: Settings, order_id: str) -> dict[str, Any]:
    with session_scope(settings.sqlalchemy_url) as session:
        return session.scalars(
            select(WorkOrder.payload).where(WorkOrder.order_id == order_id)
        ).one()


@pytest.mark.slow
def test_the_design_example_and_an_m31_order_succeed_as_written(design_night: Stack) -> None:
    settings = design_night.settings
    example = cli_submit(design_night, DESIGN_EXAMPLE, "--wait", "--timeout", "240")
    assert example.returncode == 0, example.stderr
    assert example.stdout.splitlines() == ["1", "succeeded"]
    plan = [spec.model_dump() for spec in settings.telescope.default_exposures]
    assert plan and stored_payload(settings, "1")["exposures"] == plan

    m31 = {**DESIGN_EXAMPLE, "id": "m31", "target": "M 31"}
    del m31["ra"], m31["dec"]
    named = cli_submit(design_night, m31, "--wait", "--timeout", "240")
    assert named.returncode == 0, named.stderr
    assert named.stdout.splitlines() == ["m31", "succeeded"]
    payload = stored_payload(settings, "m31")
    assert payload["resolved"]["name"] == "NGC0224"
    assert payload["resolved"]["source"].startswith("OpenNGC")
    with session_scope(settings.sqlalchemy_url) as session:
        pk = session.scalars(select(WorkOrder.pk).where(WorkOrder.order_id == "m31")).one()
    batch, rows, _ = check_batch(settings, pk)
    assert len(rows) == sum(spec["count"] for spec in plan)
    with fits.open(Path(batch.path) / rows[0].path) as hdul:
        header = hdul[0].header
    # The mount pointed at M 31 (J2000 00h42m44s +41d16m).
    assert abs(header["DEC"] - 41.269) < 0.2
    assert abs(header["RA"] - 10.685) < 0.3


@pytest.mark.slow
def test_an_unknown_name_exits_2_and_nothing_runs(design_night: Stack) -> None:
    unknown = {**DESIGN_EXAMPLE, "id": "nowhere", "target": "Nowhere Nebula"}
    del unknown["ra"], unknown["dec"]
    refused = cli_submit(design_night, unknown)
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert refused.stderr.startswith("invalid work order: target: 'Nowhere Nebula' is not a name")
    assert refused.stderr.count("\n") == 1
    with session_scope(design_night.settings.sqlalchemy_url) as session:
        row = session.scalars(select(WorkOrder).where(WorkOrder.order_id == "nowhere")).one()
        assert row.state == "rejected" and row.published_at is None
