"""Batch urls and names checked at receipt: what the transfer would refuse on its face is
refused by intake, naming the field, and never stored as an order to run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from observatory.db.models import WorkOrder, WorkOrderState
from observatory.db.session import session_scope
from observatory.errors import WorkOrderInvalid
from observatory.intake import adopt, submit
from observatory.settings import Settings
from tests.unit.test_intake import Broker, order

HOSTILE_URLS = [
    "file:///etc/passwd",
    "/",
    "../../../../etc",
    "http://127.0.0.1:6399/",
    "http://169.254.169.254/latest/",
    "http://[::1]/batches/x/",
    "https://user:secret@example.org/batches/x/",
    "https://example.org/",
]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path / "var")


def stored(settings: Settings) -> list[WorkOrder]:
    with session_scope(settings.sqlalchemy_url) as session:
        rows = list(session.scalars(select(WorkOrder).order_by(WorkOrder.pk)))
        session.expunge_all()
        return rows


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_hostile_batch_urls_are_rejected_at_receipt(settings: Settings, url: str) -> None:
    broker = Broker()
    with pytest.raises(WorkOrderInvalid, match=r"^url: refused url") as refused:
        submit(settings, order("calibrate_file_batch", "hostile", url=url), broker)
    assert broker.sent == []
    (row,) = stored(settings)
    assert row.state == WorkOrderState.REJECTED and row.state_reason == str(refused.value)


def test_a_local_path_outside_the_roots_is_rejected_naming_them(settings: Settings) -> None:
    with pytest.raises(WorkOrderInvalid) as refused:
        submit(settings, order("calibrate_file_batch", url="/srv/elsewhere/night-1"), Broker())
    assert str(settings.batches_dir) in str(refused.value)
    elsewhere = settings.data_dir.parent / "elsewhere"
    (elsewhere / "night-1").mkdir(parents=True)
    roots = settings.model_copy(update={"processor": settings.processor.model_copy(
        update={"local_roots": [elsewhere]})})  # fmt: skip
    assert submit(roots, order("calibrate_file_batch", "2", url=str(elsewhere / "night-1")),
                  Broker()).created  # fmt: skip


def test_task_messages_get_the_same_check(settings: Settings) -> None:
    with pytest.raises(WorkOrderInvalid, match=r"^url: .*metadata"):
        adopt(
            settings,
            order("calibrate_file_batch", url="http://169.254.169.254/latest/"),
            "observatory.processor.calibrate_file_batch",
        )


@pytest.mark.parametrize("batch", ["../etc", "a/b", ".hidden", "", "x" * 201])
def test_resume_batch_names_must_be_one_plain_name(settings: Settings, batch: str) -> None:
    with pytest.raises(WorkOrderInvalid, match=r"^batch: "):
        submit(settings, order("resume_file_batch", batch=batch), Broker())


def test_the_batch_name_is_recorded_at_receipt(settings: Settings) -> None:
    (settings.batches_dir / "night-1").mkdir(parents=True)  # intake refuses a folder not here
    orders: list[dict[str, Any]] = [
        order("calibrate_file_batch", "1", url=str(settings.batches_dir / "night-1")),
        order("calibrate_file_batch", "2", url="https://example.org/nights/night-2.tar.gz"),
        order("resume_file_batch", "3", batch="night-1"),
        order("restart_file_batch", "4", batch="night-2"),
        order("dome_open", "5"),
    ]
    for data in orders:
        submit(settings, data, Broker())
    assert [row.batch for row in stored(settings)] == [
        "night-1", "night-2", "night-1", "night-2", None
    ]  # fmt: skip
