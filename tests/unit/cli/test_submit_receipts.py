"""``observatory submit``: what it says of an order stored but not published, and of the
design notes' two orders that share an id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from observatory.cli.main import main
from observatory.settings import Settings
from tests.helpers import env_settings


@pytest.fixture
def settings(database_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    yield from env_settings(monkeypatch, database_url, tmp_path)


def write(path: Path, data: dict[str, object]) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def test_an_order_of_a_held_queue_is_said_to_wait_not_to_wait_for_the_broker(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hold", "telescope", "--by", "ops", "--reason", "mirror"]) == 0
    capsys.readouterr()
    obs = {"id": "w1", "request": "observation", "datetime": "2026-11-23T21:00:00",
           "user": "me", "ra": 10.0, "dec": 20.0}  # fmt: skip
    assert main(["submit", write(tmp_path / "obs.json", obs)]) == 0
    out, err = capsys.readouterr()
    assert out == "w1\n"
    assert "waiting: queue telescope held by ops" in err
    assert "broker" not in err


def test_the_seed_orders_through_the_cli(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.unit.seed_orders import CALIBRATE_TEXT, OBSERVATION_TEXT, observation

    (tmp_path / "cal.json").write_text(CALIBRATE_TEXT)
    (tmp_path / "obs.json").write_text(OBSERVATION_TEXT)
    assert main(["submit", str(tmp_path / "cal.json")]) == 0
    assert main(["submit", str(tmp_path / "obs.json")]) == 0
    out, err = capsys.readouterr()
    assert out == "1\n1\n" and "already received" not in err

    assert main(["submit", str(tmp_path / "obs.json")]) == 0
    assert "note: already received; not stored again" in capsys.readouterr().err

    moved = write(tmp_path / "moved.json", {**observation(), "ra": 100.0})
    assert main(["submit", moved]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert "work order id '1' of user 'Main Module' is already work order " in err
    assert "(observation, received " in err and err.endswith("needs another id\n")

    # One id, two orders: the JSON report is one order, so the queue must be named.
    assert main(["status", "1", "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "calibrate_file_batch" in err and "observation" in err
    assert main(["status", "1", "--json", "--queue", "telescope"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert isinstance(report, dict) and report["request"] == "observation"
    assert main(["status", "1"]) == 0
    listed = capsys.readouterr().out
    assert "calibrate_file_batch" in listed and "observation" in listed

    assert main(["cancel", "1"]) == 2
    assert "--queue" in capsys.readouterr().err
    assert main(["cancel", "1", "--queue", "processor", "--by", "ops"]) == 0
    assert capsys.readouterr().out.startswith("1: cancelled")
