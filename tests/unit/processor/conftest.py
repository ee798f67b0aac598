"""One simulated night for the processor tests: frames taken once from the real
simulator over HTTP, small (binned 2 x 2 to 1024 x 1024) so each test takes seconds."""

from __future__ import annotations

import datetime as dt
import functools
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from observatory.db.models import FileBatch, ImageType
from observatory.db.session import dispose_engines, session_scope
from observatory.intake import submit
from observatory.orders.lifecycle import Claim, claim
from observatory.processor import STEPS, unit_outcome
from observatory.processor.chain import advance, finish_fan_out, open_chain
from observatory.settings import ProcessorSettings, Settings
from observatory.simulator.frames import BINNING, Frame, SimulatedRig, write_batch
from observatory.simulator.server import start_simulator_process
from tests.db_fixtures import fresh_sqlite_url

# One simulated minute per wall second: a 20 s dark takes a third of a second.
TIME_SCALE = 60.0
DARK_S = 20.0
FLAT_S = 1.0
LIGHT_S = 10.0
PANEL_FRACTION = 0.15
# Sensor pixels summed into one binned pixel.
BINNING_AREA = BINNING**2


@dataclass
class Night:
    """Frames of one night by type, and the simulator's truth about them."""

    bias: list[Frame]
    darks: list[Frame]
    flats: list[Frame]
    panel_light: Frame
    lights: list[Frame]
    truth: dict[str, Any]


@functools.cache
def take_night() -> Night:
    """The night's frames, taken once per process: the fixture below is also imported
    by tests/integration/test_processor_orders.py, which makes it a second fixture (the
    stack's xdist group runs both in one process). Tests must not change the frames."""
    with start_simulator_process(time_scale=TIME_SCALE) as simulator:
        rig = SimulatedRig(simulator)
        bias = [rig.expose(ImageType.BIAS, 0.0) for _ in range(10)]
        darks = [rig.expose(ImageType.DARK, DARK_S) for _ in range(5)]
        rig.set_filter("R")
        rig.panel_on(PANEL_FRACTION)
        flats = [rig.expose(ImageType.FLAT, FLAT_S, "R") for _ in range(5)]
        panel_light = rig.expose(ImageType.LIGHT, FLAT_S, "R")
        truth = rig.camera_truth(filter="R", block_px=64)
        rig.panel_off()
        rig.point(1.0, 20.0)
        lights = [rig.expose(ImageType.LIGHT, LIGHT_S, "R") for _ in range(2)]
        return Night(bias, darks, flats, panel_light, lights, truth)


@pytest.fixture(scope="session")
def night() -> Night:
    return take_night()


def make_settings(tmp_path: Path, sqlite_file: Path, **processor: Any) -> Settings:
    """Settings on a fresh copy of the migrated SQLite database under ``tmp_path``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sqlite_file, tmp_path / "observatory.db")
    return Settings(
        data_dir=tmp_path,
        database_url=fresh_sqlite_url(tmp_path),
        processor=ProcessorSettings.model_validate({"solve_timeout_s": 60.0, **processor}),
    )


@pytest.fixture
def settings(tmp_path: Path, _sqlite_migrated_file: Path) -> Iterator[Settings]:
    made = make_settings(tmp_path, _sqlite_migrated_file)
    yield made
    dispose_engines(made.sqlalchemy_url)


def full_batch(night: Night) -> list[Frame]:
    return [*night.bias[:5], *night.darks, *night.flats, night.panel_light, *night.lights]


def batch_url(settings: Settings, name: str, frames: list[Frame], **extra: bytes) -> str:
    return write_batch(settings.batches_dir / name, frames, extra)


def calibrate_order(settings: Settings, url: str) -> Claim:
    """A calibrate_file_batch order for ``url``, stored by the intake and claimed here,
    as a processor worker takes it."""
    published: list[int] = []

    def publish(*, work_order_pk: int, task_name: str, queue: str, priority: float) -> str:
        published.append(work_order_pk)
        return f"in-process-{work_order_pk}"

    now = dt.datetime.now(dt.UTC).isoformat()
    order = {"id": f"t-{uuid.uuid4().hex[:10]}", "request": "calibrate_file_batch",
             "user": "tests", "datetime": now, "url": url}  # fmt: skip
    submit(settings, order, publish)
    claimed = claim(settings, published[0])
    assert claimed is not None
    return claimed


def run_chain(
    settings: Settings, url: str, steps: tuple[str, ...] = STEPS[2:]
) -> dict[str, list[dict[str, Any]]]:
    """A calibrate order for ``url`` driven by the processor's driver in this process:
    transfer, ingest, then ``steps`` in order, each fan-out's units run here one after
    the other (a follower right after its unit); returns each step's unit outcomes ([] for
    a step without units)."""
    chain = open_chain(settings, calibrate_order(settings, url))
    chain["steps"] = [*STEPS[:2], *steps]
    where = {"task_id": "run_chain", "worker": "tests"}
    outcomes: dict[str, list[dict[str, Any]]] = {step: [] for step in steps}
    fan_out = advance(settings, chain, where).fan_out
    while fan_out is not None:
        ran = [unit_outcome(settings, unit) for unit in fan_out.units]
        advanced = finish_fan_out(settings, chain, fan_out.step, ran, where, fan_out.then)
        outcomes[fan_out.step] = [{k: v for k, v in o.items() if k != "then"} for o in ran]
        if fan_out.then is not None:
            outcomes[fan_out.then] = [o["then"] for o in ran]
        fan_out = advanced.fan_out
    return outcomes


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    """A session on a migrated database of the test's own, committed at its end."""
    with session_scope(database_url) as opened:
        yield opened


def new_batch(session: Session, name: str = "b1") -> int:
    """A file batch row called ``name`` (in ``/data/batches/<name>``); returns its pk."""
    row = FileBatch(name=name, path=f"/data/batches/{name}")
    session.add(row)
    session.flush()
    return row.pk
