"""Sizes: a refused order is stored bounded whatever path it came by, and the CLI refuses
an order file over the HTTP intake's limit before reading it."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from observatory.cli.main import main
from observatory.db.models import WorkOrder, WorkOrderState
from observatory.db.session import session_scope
from observatory.errors import WorkOrderInvalid
from observatory.intake import REJECTED_PAYLOAD_MAX_CHARS, submit
from observatory.orders.validation import MAX_ORDER_BYTES
from observatory.settings import Settings
from tests.helpers import env_settings
from tests.unit.test_intake import Broker, order


@pytest.fixture
def settings(database_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    yield from env_settings(monkeypatch, database_url, tmp_path)


def huge_order() -> dict[str, object]:
    # Refused (an unknown field), five megabytes long.
    return order("dome_open", "huge", comment="x" * 5_000_000)


def test_a_huge_refused_order_is_stored_cut_saying_so(settings: Settings) -> None:
    with pytest.raises(WorkOrderInvalid):
        submit(settings, huge_order(), Broker())
    with session_scope(settings.sqlalchemy_url) as session:
        row = session.scalars(select(WorkOrder)).one()
        assert row.state == WorkOrderState.REJECTED
        stored = json.dumps(row.payload)
        assert len(stored) < REJECTED_PAYLOAD_MAX_CHARS + 1000
        assert row.payload["cut"].startswith("the order was 5000")
        assert row.payload["start"].startswith('{"id": "huge"')


def test_a_huge_unknown_request_is_refused_with_a_bounded_reason(settings: Settings) -> None:
    with pytest.raises(WorkOrderInvalid):
        submit(settings, order("x" * 1_000_000, "big-request"), Broker())
    with session_scope(settings.sqlalchemy_url) as session:
        reason = session.scalars(select(WorkOrder.state_reason)).one() or ""
    assert len(reason) < REJECTED_PAYLOAD_MAX_CHARS + 100 and reason.endswith("characters, cut)")


def test_a_small_refused_order_is_stored_whole(settings: Settings) -> None:
    data = order("dome_open", "small", comment="x" * 100)
    with pytest.raises(WorkOrderInvalid):
        submit(settings, data, Broker())
    with session_scope(settings.sqlalchemy_url) as session:
        assert session.scalars(select(WorkOrder.payload)).one() == data


def test_the_cli_refuses_a_file_over_the_limit_in_one_line_storing_nothing(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(huge_order()))
    assert main(["submit", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert f"huge.json: a work order is at most {MAX_ORDER_BYTES} bytes" in err
    with session_scope(settings.sqlalchemy_url) as session:
        assert session.scalar(select(func.count()).select_from(WorkOrder)) == 0


def test_the_cli_refuses_standard_input_over_the_limit(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(json.dumps(huge_order()).encode()), encoding="utf-8")
    monkeypatch.setattr("sys.stdin", stdin)
    assert main(["submit", "-"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "standard input: a work order is at most" in err
