"""A resume or restart of a batch is refused at intake, in one line, unless a
calibrate_file_batch order naming that batch has been received: the processor would fail
it at once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from observatory.db.models import WorkOrder, WorkOrderState
from observatory.db.session import session_scope
from observatory.errors import WorkOrderInvalid
from observatory.intake import adopt, submit
from observatory.settings import Settings
from tests.unit.test_intake import Broker, order

URL = "https://example.org/nights/night-9.tar.gz"


@pytest.fixture
def settings(database_url: str, tmp_path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path)


@pytest.mark.parametrize("request_name", ["resume_file_batch", "restart_file_batch"])
def test_a_batch_never_received_is_refused_and_recorded(
    settings: Settings, request_name: str
) -> None:
    with pytest.raises(WorkOrderInvalid) as refused:
        submit(settings, order(request_name, "r1", batch="night-9"), Broker())
    assert str(refused.value) == (
        "batch: no batch 'night-9' has been received (no calibrate_file_batch order names it)"
    )
    with session_scope(settings.sqlalchemy_url) as session:
        (row,) = session.scalars(select(WorkOrder))
        assert row.state == WorkOrderState.REJECTED


def test_a_task_message_gets_the_same_check(settings: Settings) -> None:
    with pytest.raises(WorkOrderInvalid, match="no batch 'night-9' has been received"):
        adopt(
            settings,
            order("resume_file_batch", "r1", batch="night-9"),
            "observatory.processor.resume_file_batch",
        )


def test_a_received_batch_may_be_resumed_and_a_rejected_calibrate_does_not_count(
    settings: Settings,
) -> None:
    broker = Broker()
    with pytest.raises(WorkOrderInvalid):
        submit(settings, order("calibrate_file_batch", "c0", url=URL, extra=1), broker)
    with pytest.raises(WorkOrderInvalid, match="no batch 'night-9'"):
        submit(settings, order("resume_file_batch", "r1", batch="night-9"), broker)
    submit(settings, order("calibrate_file_batch", "c1", url=URL), broker)
    assert submit(settings, order("resume_file_batch", "r1", batch="night-9"), broker).created


def test_a_local_batch_folder_not_here_is_refused_in_one_line(settings: Settings) -> None:
    missing = settings.batches_dir / "night-7"
    for url in (str(missing), missing.as_uri()):
        with pytest.raises(WorkOrderInvalid) as refused:
            submit(settings, order("calibrate_file_batch", "c7", url=url), Broker())
        assert str(refused.value) == f"url: {url!r} is not a folder here"
    missing.mkdir(parents=True)
    assert submit(settings, order("calibrate_file_batch", "c7", url=str(missing)), Broker()).created


def test_a_remote_batch_url_is_not_fetched_at_intake(settings: Settings) -> None:
    # Only its form is checked: the host may serve the batch later.
    assert submit(settings, order("calibrate_file_batch", "c8", url=URL), Broker()).created
