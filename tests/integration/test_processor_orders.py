"""calibrate/resume/restart_file_batch on the running stack: real Redis, worker and chords."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from typing import Any

import pytest
from astropy.io import fits
from sqlalchemy import func, select

from observatory import intake
from observatory.db.models import CalibratedFrame, Exposure, FileBatch, MasterFrame, StepRun
from observatory.db.session import session_scope
from observatory.orders.cancel import cancel_pk
from observatory.orders.lifecycle import claim
from observatory.processor import STEPS
from observatory.processor.chain import advance, open_chain
from observatory.settings import Settings
from observatory.simulator.frames import write_batch
from observatory.stack import Stack
from tests.helpers import wait_for
from tests.integration.test_dome_orders import outcome, submit
from tests.unit.processor.conftest import Night, night  # noqa: F401  (fixture)
from tests.unit.processor.rawframes import PRO_DATA_SHAPE, PRO_PROFILE, pro_ccd_night, write

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("solve-field") is None, reason="solve-field is not installed"),
]


def order(request: str, **fields: Any) -> dict[str, Any]:
    return {"id": f"t-{uuid.uuid4().hex[:10]}", "request": request, "user": "tests",
            "datetime": dt.datetime.now(dt.UTC).isoformat(), **fields}  # fmt: skip


def step_states(settings: Settings, pk: int) -> dict[str, str]:
    with session_scope(settings.sqlalchemy_url) as session:
        runs = session.scalars(
            select(StepRun).where(StepRun.work_order_pk == pk).order_by(StepRun.pk)
        )
        return {run.step: str(run.state) for run in runs}


def batch_counts(settings: Settings, batch_name: str) -> tuple[int, int, int]:
    """Exposures, master frames and calibrated frames of the batch named ``batch_name``
    (other tests' batches share the stack's database)."""
    in_batch = FileBatch.name == batch_name
    with session_scope(settings.sqlalchemy_url) as session:
        exposures = select(func.count()).select_from(Exposure).join(FileBatch)
        masters = select(func.count()).select_from(MasterFrame).join(FileBatch)
        calibrated = select(func.count()).select_from(CalibratedFrame).join(Exposure)
        return (
            int(session.scalar(exposures.where(in_batch)) or 0),
            int(session.scalar(masters.where(in_batch)) or 0),
            int(session.scalar(calibrated.join(FileBatch).where(in_batch)) or 0),
        )


def counts(settings: Settings) -> tuple[int, int, int]:
    with session_scope(settings.sqlalchemy_url) as session:
        return tuple(  # type: ignore[return-value]
            int(session.scalar(select(func.count()).select_from(m)) or 0)
            for m in (Exposure, MasterFrame, CalibratedFrame)
        )


def test_batch_calibrated_then_resumed_and_restarted(stack: Stack, night: Night) -> None:  # noqa: F811
    settings = stack.settings
    frames = [*night.bias[:3], *night.darks[:3], *night.flats[:3], night.lights[0]]
    folder = settings.batches_dir / "20261123-observation-901"
    write_batch(folder, frames, {"broken.fits": b"SIMPLE  = garbage"})
    pk = submit(settings, order("calibrate_file_batch", url=str(folder)))
    assert outcome(settings, pk, 180).state == "succeeded"
    assert step_states(settings, pk) == dict.fromkeys(STEPS, "succeeded")
    with session_scope(settings.sqlalchemy_url) as session:
        batch = session.scalars(select(FileBatch).where(FileBatch.name == folder.name)).one()
        exposures = {e.path: e for e in batch.exposures}
        assert exposures["broken.fits"].state == "rejected"
        assert {m.kind for m in batch.master_frames} == {"bias", "dark", "flat"}
        frame = session.scalars(
            select(CalibratedFrame).join(Exposure).where(Exposure.file_batch_pk == batch.pk)
        ).one()
        assert frame.wcs_status == "solved" and frame.path.startswith(folder.name + "/")
    before = batch_counts(settings, folder.name)
    assert before == (11, 3, 1)
    before_all = counts(settings)  # rerunning steps leaves no rows outside the batch either

    resumed = submit(settings, order("resume_file_batch", batch=folder.name))
    assert outcome(settings, resumed, 60).state == "succeeded"
    assert step_states(settings, resumed) == {}  # nothing left to do

    restarted = submit(settings, order("restart_file_batch", batch=folder.name))
    assert outcome(settings, restarted, 180).state == "succeeded"
    assert step_states(settings, restarted) == dict.fromkeys(STEPS, "succeeded")
    assert batch_counts(settings, folder.name) == before
    assert counts(settings) == before_all


def test_failed_step_is_recorded_and_resumed_from(stack: Stack, night: Night) -> None:  # noqa: F811
    settings = stack.settings
    # The library's masters, made here rather than left by whichever test ran before.
    library = settings.batches_dir / "20261123-observation-900"
    write_batch(library, [*night.bias[:3], *night.darks[:3], *night.flats[:3]])
    made = submit(settings, order("calibrate_file_batch", url=str(library)))
    assert outcome(settings, made, 180).state == "succeeded"
    folder = settings.batches_dir / "20261123-observation-902"
    # Two bias frames are fewer than processor.min_bias_frames: the bias step fails, the
    # light is calibrated with the library's masters, and the order ends partial.
    write_batch(folder, [*night.bias[:2], night.lights[1]])
    pk = submit(settings, order("calibrate_file_batch", url=folder.as_uri()))
    ended = outcome(settings, pk, 180)
    assert ended.state == "partial" and "bias" in (ended.state_reason or "")
    states = step_states(settings, pk)
    assert states["bias"] == "failed" and states["light"] == "succeeded"
    with session_scope(settings.sqlalchemy_url) as session:
        run = session.scalars(
            select(StepRun).where(StepRun.work_order_pk == pk, StepRun.step == "bias")
        ).one()
        assert "at least 3 are needed" in (run.error or "")

    resumed = submit(settings, order("resume_file_batch", batch=folder.name))
    assert outcome(settings, resumed, 180).state == "partial"
    assert list(step_states(settings, resumed)) == list(STEPS[2:])


def test_running_order_cancelled_skips_its_later_steps(stack: Stack, night: Night) -> None:  # noqa: F811
    settings = stack.settings
    folder = settings.batches_dir / "20261123-observation-903"
    write_batch(folder, [*night.bias[:3], *night.darks[:3], *night.flats[:3], night.lights[0]])
    calibrated_before = counts(settings)[2]
    pk = submit(settings, order("calibrate_file_batch", url=str(folder)))
    wait_for(lambda: "transfer" in step_states(settings, pk), 60, 0.02, "the transfer step")
    assert cancel_pk(settings, pk, by="ops", reason="clouds").outcome == "requested"
    ended = outcome(settings, pk, 120)
    assert (ended.state, ended.state_reason) == ("cancelled", "cancelled by ops: clouds")
    states = step_states(settings, pk)
    assert states["transfer"] == "succeeded" and states["astrometry"] == "skipped"
    assert counts(settings)[2] == calibrated_before  # the light step never ran


# 25 s of waiting out a visibility timeout: the longest test of the fast loop, whose rules
# tests/unit/orders/test_stalls.py checks in milliseconds.
@pytest.mark.slow
def test_a_chain_lost_with_the_broker_is_resumed_by_the_reconciler(
    stack: Stack,
    night: Night,  # noqa: F811
) -> None:
    """An order left as a broker that died would leave it: claimed, its first steps done,
    its bias units dispatched and their messages lost. The stack's reconciler finds it
    silent beyond the visibility timeout (10 s here), the broker's restore sweep (3 s)
    and the claim's margin (10 s), and resumes it; the worker goes on from the bias, and
    no step runs twice."""
    settings = stack.settings
    folder = settings.batches_dir / "20261123-observation-904"
    write_batch(folder, [*night.bias[:3], *night.darks[:3]])

    def lost(*, work_order_pk: int, task_name: str, queue: str, priority: float) -> str:
        return f"lost-{work_order_pk}"  # the broker took it, then lost it

    pk = intake.submit(settings, order("calibrate_file_batch", url=str(folder)), lost).pk
    claimed = claim(settings, pk)
    assert claimed is not None
    fan_out = advance(settings, open_chain(settings, claimed), {"task_id": "lost"}).fan_out
    assert fan_out is not None and fan_out.step == "bias"  # dispatched, never to arrive
    ended = outcome(settings, pk, 120)
    assert (ended.state, ended.attempts) == ("succeeded", 2)
    with session_scope(settings.sqlalchemy_url) as session:
        runs = session.scalars(select(StepRun.step).where(StepRun.work_order_pk == pk)).all()
    assert sorted(runs) == sorted(STEPS) and len(runs) == len(STEPS)
    log = stack.log_path("reconciler").read_text()
    assert f"(pk {pk}) resumed: attempt 1 showed no sign of life for 2" in log  # 23 s on


@pytest.mark.slow  # fast: tests/unit/processor/test_real_nights.py
def test_real_camera_night_in_a_plain_folder_is_calibrated(stack: Stack) -> None:
    """A cooled CCD's night as its capture program leaves it: subfolders, a preview and a
    log beside the frames, no manifest, overscan columns, CCDSUM, FILTNAME, no darks."""
    settings = stack.settings
    (settings.processor.instruments_dir / "proccd.toml").write_text(PRO_PROFILE)
    folder = settings.batches_dir / "20261205-proccd"
    for name, hdus in pro_ccd_night(lights=3).items():
        kind = name.split("_")[0]
        write(folder / {"zero": "zero", "domeflat": "flat"}.get(kind, "science") / name, hdus)
    (folder / "science" / "preview.jpg").write_bytes(b"\xff\xd8\xff\xe0 preview")
    (folder / "night.log").write_text("observing log\n")
    pk = submit(settings, order("calibrate_file_batch", url=str(folder)))
    outcome(settings, pk, 240)
    states = step_states(settings, pk)
    assert {states[s] for s in ("transfer", "ingest", "bias", "flat", "light")} == {"succeeded"}
    with session_scope(settings.sqlalchemy_url) as session:
        batch = session.scalars(select(FileBatch).where(FileBatch.name == folder.name)).one()
        lights = [e for e in batch.exposures if e.imagetyp == "light"]
        assert len(lights) == 3 and {e.profile for e in lights} == {"ProCCD"}
        for exposure in lights:
            frame = exposure.calibrated_frame
            assert frame is not None and not frame.incomplete
            assert frame.corrections["applied"] == ["overscan", "trim", "bias", "flat"]
            data = fits.getdata(settings.products_dir / frame.path)
            assert data.shape == PRO_DATA_SHAPE
