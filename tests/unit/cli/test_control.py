"""``observatory cancel``, ``hold``, ``release`` and ``status`` filters, as a user types them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from observatory.cli.main import main
from observatory.db.models import WorkOrderState
from observatory.intake import submit
from observatory.orders.lifecycle import claim, finish
from observatory.settings import Settings
from tests.helpers import env_settings
from tests.unit.test_intake import Broker, order, row


@pytest.fixture
def settings(database_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    yield from env_settings(monkeypatch, database_url, tmp_path)


def test_cancel_prints_the_outcome_and_records_who(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    receipt = submit(settings, order(order_id="q1"), Broker())
    assert main(["cancel", "q1", "--by", "ops", "--reason", "wind"]) == 0
    assert capsys.readouterr().out == "q1: cancelled (cancelled by ops: wind)\n"
    assert row(settings, receipt.pk).state == WorkOrderState.CANCELLED


def test_cancelling_an_ended_or_unknown_order_is_one_line_and_exit_2(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    receipt = submit(settings, order(order_id="done"), Broker())
    claim(settings, receipt.pk)
    finish(settings, receipt.pk, WorkOrderState.FAILED)
    assert main(["cancel", "done"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has already ended failed" in err
    assert main(["cancel", "nope"]) == 2
    assert "no work order 'nope'" in capsys.readouterr().err


def test_hold_shows_in_status_and_release_says_what_it_published(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hold", "telescope", "--by", "ops", "--reason", "mirror"]) == 0
    assert "queue telescope held by ops" in capsys.readouterr().out
    submit(settings, order(order_id="a"), Broker())
    submit(settings, order("dome_close", order_id="b", user="alice"), Broker())
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("HELD: queue telescope held by ops") and "mirror" in out
    assert main(["status", "--user", "alice"]) == 0
    listed = capsys.readouterr().out
    assert "b " in listed and "\na " not in listed
    assert main(["status", "--request", "dome_open", "--state", "queued"]) == 0
    assert "dome_open" in capsys.readouterr().out
    assert main(["status", "--state", "finished"]) == 2
    assert "state: 'finished' is not one of" in capsys.readouterr().err
    assert main(["release", "telescope"]) == 0
    assert "queue telescope released; 0 waiting order(s) published" in capsys.readouterr().out
    assert main(["hold", "mount"]) == 2
    assert "no queue 'mount'" in capsys.readouterr().err


def test_status_says_a_running_order_is_stopping_after_a_cancel(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    receipt = submit(settings, order(order_id="busy"), Broker())
    claim(settings, receipt.pk)
    assert main(["cancel", "busy", "--by", "ops"]) == 0
    assert capsys.readouterr().out == "busy: running; asked to stop (cancelled by ops)\n"
    assert main(["status"]) == 0
    assert "running    stopping: cancel requested by ops" in capsys.readouterr().out


def test_status_says_when_no_order_matches(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status"]) == 0
    assert capsys.readouterr().out == "no work orders match\n"
    assert main(["status", "--json"]) == 0
    assert capsys.readouterr().out == "[]\n"
