"""One simulated night for the processor tests: frames taken once from the real
simulator over HTTP, small (binned 2 x 2 to 1024 x 1024) so each test takes seconds."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from observatory.db.models import ImageType
from observatory.db.session import dispose_engines
from observatory.processor import STEPS, ingest_batch, transfer_batch, unit_outcome, units_of
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


@pytest.fixture(scope="session")
def night() -> Iterator[Night]:
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
        yield Night(bias, darks, flats, panel_light, lights, truth)


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


def run_chain(
    settings: Settings, url: str, steps: tuple[str, ...] = STEPS[2:]
) -> dict[str, list[dict[str, Any]]]:
    """Transfer, ingest, then every unit of ``steps`` in this process, in order;
    returns each step's unit outcomes."""
    located, _ = transfer_batch(settings, url)
    ingest_batch(settings, located)
    return {
        step: [unit_outcome(settings, u) for u in units_of(settings, located.name, url, step)]
        for step in steps
    }
