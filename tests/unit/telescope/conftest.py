"""A small, fast simulator (256 x 256 camera at 50x) and settings pointing at it, with a
migrated SQLite database per test."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alpaca.safetymonitor import SafetyMonitor

from observatory.intake import submit
from observatory.orders.lifecycle import Claim, claim
from observatory.settings import DeviceSettings, Settings, SupervisorSettings, TelescopeSettings
from observatory.simulator.server import SimulatorProcess, start_simulator_process
from tests.db_fixtures import fresh_sqlite_url
from tests.unit.test_intake import Broker

SIMULATOR_CONFIG = """
seed = 3
time_scale = 50.0

[discovery]
enabled = false

# The settings' site (SiteSettings' defaults): the mount must be set for it.
[site]
latitude_deg = 37.2236
longitude_deg = -2.5463
elevation_m = 2168.0

[dome]
connect_delay_s = 0.5
start_shutter_open = false

[telescope]
connect_delay_s = 0.5

[camera]
connect_delay_s = 0.5
width_px = 256
height_px = 256
warm_up = false

[filterwheel]
connect_delay_s = 0.5

[covercalibrator]
connect_delay_s = 0.5

[safetymonitor]
connect_delay_s = 0.5
"""

ROLES = ("dome", "telescope", "camera", "filterwheel", "covercalibrator", "safetymonitor")


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    config_path: Path = tmp_path_factory.mktemp("simulator") / "simulator.toml"
    config_path.write_text(SIMULATOR_CONFIG)
    with start_simulator_process(config_path=config_path) as process:
        yield process


@pytest.fixture
def sqlite_url(tmp_path: Path, _sqlite_migrated_file: Path) -> str:
    shutil.copyfile(_sqlite_migrated_file, tmp_path / "observatory.db")
    return fresh_sqlite_url(tmp_path)


def simulator_settings(address: str, database_url: str, data_dir: Path) -> Settings:
    devices = DeviceSettings.model_validate(
        {f"{role}_address": address for role in ROLES}
        | {"poll_interval_s": 0.02, "retry_backoff_s": 0.05, "connect_timeout_s": 10.0}
    )
    telescope = TelescopeSettings(
        readout_timeout_s=10.0,
        slew_timeout_s=20.0,
        filter_timeout_s=10.0,
        cover_timeout_s=10.0,
        heartbeat_interval_s=0.2,
        altitude_limit_deg=10.0,
    )
    # No supervisor process runs in these tests: the open permit asks the safety monitor
    # directly (test_sequences.py checks the refusal when a supervisor is expected).
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        devices=devices,
        telescope=telescope,
        supervisor=SupervisorSettings(enabled=False),
    )


@pytest.fixture
def settings(simulator: SimulatorProcess, sqlite_url: str, tmp_path: Path) -> Iterator[Settings]:
    set_safe(simulator.address, True)
    yield simulator_settings(simulator.address, sqlite_url, tmp_path)
    set_safe(simulator.address, True)


def set_safe(address: str, safe: bool) -> None:
    monitor = SafetyMonitor(address, 0)
    monitor.Connected = True
    monitor.Action("simulator:set_safe", "true" if safe else "false")


def claimed_order(settings: Settings, broker: Broker, request: str, **fields: Any) -> Claim:
    """Store an order through the intake and claim it as a worker would."""
    data = {
        "id": f"t-{uuid.uuid4().hex[:8]}",
        "request": request,
        "datetime": dt.datetime.now(dt.UTC).isoformat(),
        "user": "tests",
        **fields,
    }
    receipt = submit(settings, data, broker)
    claimed = claim(settings, receipt.pk)
    assert claimed is not None
    return claimed
