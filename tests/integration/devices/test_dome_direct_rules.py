"""``observatory dome ... --direct`` keeps the queued orders' safety rules: the simulator
over HTTP, a real SQLite database holding the supervisor's permit and the telescope
worker's heartbeat, and the CLI as an operator types it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from observatory.cli.main import main
from observatory.devices.dome import DomeAdapter, ShutterState
from observatory.intake import submit
from observatory.settings import Settings, get_settings
from observatory.simulator.server import SimulatorProcess
from observatory.supervisor import permit
from observatory.telescope.heartbeat import TELESCOPE_HEARTBEAT, write_heartbeat
from tests.db_fixtures import fresh_sqlite_url
from tests.unit.test_intake import Broker, order

HOLD_OFF = "hold-off: unsafe 40 s ago, opening allowed from 23:50 UTC"


@pytest.fixture
def settings(
    simulator: SimulatorProcess,
    _sqlite_migrated_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Settings]:
    shutil.copyfile(_sqlite_migrated_file, tmp_path / "observatory.db")
    environment = {
        "OBSERVATORY_DATABASE_URL": fresh_sqlite_url(tmp_path),
        "OBSERVATORY_DATA_DIR": str(tmp_path),
        "OBSERVATORY_DEVICES__DOME_ADDRESS": simulator.address,
        "OBSERVATORY_DEVICES__SAFETYMONITOR_ADDRESS": simulator.address,
        "OBSERVATORY_DEVICES__POLL_INTERVAL_S": "0.02",
        "OBSERVATORY_DEVICES__SHUTTER_TIMEOUT_S": "5",
        "OBSERVATORY_DEVICES__DOME_MOVE_TIMEOUT_S": "5",
        # The stack's fixture (tests/integration/conftest.py) turns it off for its process.
        "OBSERVATORY_SUPERVISOR__ENABLED": "true",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    settings = get_settings()
    dome = DomeAdapter(settings.devices)
    dome.close_shutter()
    dome.slew_to_azimuth(90.0)
    yield settings
    dome.close_shutter()
    get_settings.cache_clear()


def test_direct_open_is_refused_during_the_hold_off_and_allowed_after(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    permit.publish(settings, {"opening_allowed": False, "reason": HOLD_OFF})
    assert main(["dome", "open", "--direct"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "opening refused by the safety supervisor" in err and HOLD_OFF in err
    assert DomeAdapter(settings.devices).status().shutter is ShutterState.CLOSED

    permit.publish(settings, {"opening_allowed": True, "reason": "safe"})
    assert main(["dome", "--direct", "open"]) == 0
    assert capsys.readouterr().out == "arrived\n"
    assert DomeAdapter(settings.devices).status().shutter is ShutterState.OPEN
    permit.publish(settings, {"opening_allowed": False, "reason": HOLD_OFF})
    assert main(["dome", "close", "--direct"]) == 0  # closing is never refused


def test_direct_open_without_a_supervisor_verdict_is_refused(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dome", "open", "--direct"]) == 2
    assert "no safety supervisor has published a verdict" in capsys.readouterr().err
    assert DomeAdapter(settings.devices).status().shutter is ShutterState.CLOSED


@pytest.mark.parametrize(
    "argv", [["azimuth", "200"], ["goto", "45", "200"], ["park"]], ids=lambda a: a[0]
)
def test_direct_turns_are_refused_while_a_telescope_order_keeps_the_slit(
    settings: Settings, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    observation = submit(
        settings, order("observation", order_id="m31-night", ra=10.7, dec=41.3), Broker()
    )
    details = {"work_order_pk": observation.pk, "phase": "exposing", "dome_slaved": True}
    write_heartbeat(settings, TELESCOPE_HEARTBEAT, details)
    assert main(["dome", *argv, "--direct"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the dome follows telescope work order 'm31-night'" in err
    assert "(observatory cancel m31-night --user 'Main Module')" in err, err
    assert DomeAdapter(settings.devices).status().azimuth_deg == pytest.approx(90.0, abs=1.0)
    assert main(["dome", "status", "--direct"]) == 0  # reading is never refused
    assert main(["dome", "close", "--direct"]) == 0  # nor is closing

    write_heartbeat(settings, TELESCOPE_HEARTBEAT, details | {"dome_slaved": False})
    assert main(["dome", "azimuth", "200", "--direct"]) == 0
    assert DomeAdapter(settings.devices).status().azimuth_deg == pytest.approx(200.0, abs=1.0)
