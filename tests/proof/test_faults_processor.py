"""Faults of the processor: a calibrate_file_batch message delivered twice, and a
processor worker SIGKILLed in the middle of a step while a second worker serves the
queue. The batches are real frames of a simulator (binned 4 x 4), written as the
telescope writes them; one private stack (faults_stack.py) runs the chain."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from sqlalchemy import Select, func, select

from observatory.db.models import CalibratedFrame, Exposure, FileBatch, ImageType, MasterFrame
from observatory.db.session import session_scope
from observatory.processor import STEPS
from observatory.simulator.frames import Frame, SimulatedRig, write_batch
from observatory.simulator.server import start_simulator_process
from tests.helpers import wait_for
from tests.proof.faults_stack import FaultStack, order, running_stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

VISIBILITY_TIMEOUT_S = 10.0
# No index files for the in-process solver: plate solving falls back to solve-field, a
# unit long enough (about a second) and visible as a process, so a worker can be killed
# in the middle of one.
STACK_ENV = {
    "OBSERVATORY_VISIBILITY_TIMEOUT_S": repr(VISIBILITY_TIMEOUT_S),
    "OBSERVATORY_PROCESSOR__INDEX_GLOB": "/nonexistent/index-*.fits",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    with running_stack(tmp_path_factory.mktemp("processor"), STACK_ENV) as running:
        yield running


@pytest.fixture(scope="module")
def frames() -> dict[str, list[Frame]]:
    """Three of each calibration frame and two lights of a star field, R filter."""
    with start_simulator_process(time_scale=60.0) as simulator:
        rig = SimulatedRig(simulator)
        taken = {
            "bias": [rig.expose(ImageType.BIAS, 0.0) for _ in range(3)],
            "darks": [rig.expose(ImageType.DARK, 10.0) for _ in range(3)],
        }
        rig.set_filter("R")
        rig.panel_on(0.05)
        taken["flats"] = [rig.expose(ImageType.FLAT, 1.0, "R") for _ in range(3)]
        rig.panel_off()
        rig.point(1.0, 20.0)
        taken["lights"] = [rig.expose(ImageType.LIGHT, 10.0, "R") for _ in range(2)]
        return taken


def calibrate(stack: FaultStack, folder: Path) -> int:
    data = order("calibrate_file_batch", url=str(folder))
    return stack.submit(data).pk


def products(stack: FaultStack, batch: str) -> dict[str, int]:
    """Row counts of the batch's products, and of their distinct keys."""
    with session_scope(stack.settings.sqlalchemy_url) as session:
        batch_pk = session.scalars(select(FileBatch.pk).where(FileBatch.name == batch)).one()
        exposures = select(Exposure.pk).where(Exposure.file_batch_pk == batch_pk)
        masters = select(MasterFrame).where(MasterFrame.file_batch_pk == batch_pk)
        calibrated = select(CalibratedFrame).where(CalibratedFrame.exposure_pk.in_(exposures))

        def count(query: Select[Any]) -> int:
            return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)

        return {
            "exposures": count(exposures),
            "exposure_paths": count(
                select(Exposure.path).where(Exposure.file_batch_pk == batch_pk).distinct()
            ),
            "masters": count(masters),
            "master_groups": count(
                select(MasterFrame.group_key)
                .where(MasterFrame.file_batch_pk == batch_pk)
                .distinct()
            ),
            "calibrated": count(calibrated),
            "calibrated_exposures": count(
                select(CalibratedFrame.exposure_pk)
                .where(CalibratedFrame.exposure_pk.in_(exposures))
                .distinct()
            ),
        }


def processor_logs(stack: FaultStack) -> str:
    """What every processor worker of the stack logged (a test may have added one)."""
    logs = sorted(stack.stack.log_path("worker-processor").parent.glob("*processor*.log"))
    return "".join(path.read_text(errors="replace") for path in logs)


def test_calibrate_message_delivered_twice_runs_once(
    stack: FaultStack, frames: dict[str, list[Frame]]
) -> None:
    folder = stack.settings.batches_dir / "20261123-calibration-9001"
    write_batch(folder, [*frames["bias"], *frames["darks"], *frames["flats"]])
    pk = calibrate(stack, folder)
    stack.republish(pk)
    wait_for(
        lambda: f"work order {pk} is " in processor_logs(stack),
        60,
        message="the second delivery to be refused",
    )
    outcome = stack.outcome(pk, timeout_s=120)
    assert (outcome.state, outcome.attempts) == ("succeeded", 1), outcome
    runs = stack.steps(pk)
    assert [r.step for r in runs] == list(STEPS), [(r.step, str(r.state)) for r in runs]
    assert {str(r.state) for r in runs} == {"succeeded"}
    counted = products(stack, folder.name)
    assert counted["exposures"] == counted["exposure_paths"] == 9
    assert counted["masters"] == counted["master_groups"] == 3  # bias, dark, flat


def solve_field_under(worker_pids: set[int]) -> tuple[int, int] | None:
    """(worker pid, solve-field pid) of a solve-field run by one of the workers."""
    for process in psutil.process_iter(["name", "cmdline"]):
        argv = process.info["cmdline"] or []
        if not any(Path(arg).name == "solve-field" for arg in argv[:2]):
            continue
        try:
            ancestors = {p.pid for p in process.parents()}
        except psutil.NoSuchProcess:
            continue
        for pid in worker_pids & ancestors:
            return pid, process.pid
    return None


def test_processor_worker_killed_mid_step(
    stack: FaultStack, frames: dict[str, list[Frame]]
) -> None:
    """The unit under way is redelivered to the other worker; the batch completes with
    one row per product."""
    second = stack.add_worker("processor2", "processor")
    folder = stack.settings.batches_dir / "20261123-observation-9002"
    write_batch(folder, [frame for group in frames.values() for frame in group])
    pk = calibrate(stack, folder)

    workers = {"worker-processor": stack.child("worker-processor"), "processor2": second}
    pids = {child.process.pid: name for name, child in workers.items() if child.process}
    found = wait_for(lambda: solve_field_under(set(pids)), 120, 0.05, "a plate solve under way")
    assert found is not None
    worker_pid, solver_pid = found
    killed = pids[worker_pid]
    stack.kill(killed)
    # The solver runs in its own session; it is part of the killed worker's unit.
    with contextlib.suppress(psutil.NoSuchProcess):
        psutil.Process(solver_pid).kill()
    survivor = next(name for name in workers if name != killed)
    print(f"\nkilled {killed} during the astrometry step; {survivor} serves the queue alone")

    bound_s = VISIBILITY_TIMEOUT_S + 60.0
    outcome = stack.outcome(pk, timeout_s=bound_s)
    assert outcome.state == "succeeded", (outcome, [(r.step, r.error) for r in stack.steps(pk)])
    runs = stack.steps(pk)
    assert [r.step for r in runs] == list(STEPS)
    assert {str(r.state) for r in runs} == {"succeeded"}
    counted = products(stack, folder.name)
    assert counted["exposures"] == counted["exposure_paths"] == 11
    assert counted["masters"] == counted["master_groups"] == 3
    assert counted["calibrated"] == counted["calibrated_exposures"] == 2, counted  # the lights
