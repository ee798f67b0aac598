"""Step recording: success, failure with email to a real SMTP server, and SMTP down."""

from __future__ import annotations

import logging
import re
import traceback

import pytest
from sqlalchemy import select

from observatory.db.models import StepRun, StepState
from observatory.db.session import session_scope
from observatory.errors import MasterFrameMissing, StepFailed
from observatory.intake import submit
from observatory.processor.pipeline import gather
from observatory.settings import Settings, SmtpSettings
from observatory.steps import record_skipped_step, record_step
from tests.helpers import free_port, wait_for
from tests.smtp import smtp_server  # noqa: F401  (fixture)
from tests.unit.test_intake import Broker, order


class DomeJammed(RuntimeError):
    pass


@pytest.fixture
def settings(database_url: str, tmp_path, smtp_server) -> Settings:  # noqa: F811
    host, port, _ = smtp_server
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        admin_emails=["ops@example.org", "pi@example.org"],
        smtp=SmtpSettings(host=host, port=port, attempts=2),
    )


def runs(settings: Settings) -> list[StepRun]:
    with session_scope(settings.sqlalchemy_url) as session:
        found = list(session.scalars(select(StepRun).order_by(StepRun.pk)))
        session.expunge_all()
        return found


def test_success_records_outputs_and_attempts_count_up(settings: Settings) -> None:
    pk = submit(settings, order(), Broker()).pk
    for _ in range(2):
        with record_step(settings, pk, "open_dome", task_id="t1", worker="w1") as record:
            record.outputs = {"arrived": True}
    first, second = runs(settings)
    assert (first.attempt, second.attempt) == (1, 2)
    assert second.state == StepState.SUCCEEDED and second.outputs == {"arrived": True}
    assert second.ended_at is not None and second.worker == "w1"


def test_failure_is_recorded_emailed_and_re_raised(settings: Settings, smtp_server) -> None:  # noqa: F811
    _, _, mailbox = smtp_server
    before = len(mailbox.messages)
    pk = submit(settings, order(order_id="jam"), Broker()).pk
    with pytest.raises(DomeJammed), record_step(settings, pk, "open_dome"):
        raise DomeJammed("shutter motor stalled")
    [run] = runs(settings)
    assert run.state == StepState.FAILED
    assert run.error == "DomeJammed: shutter motor stalled"
    assert "Traceback" in (run.traceback or "")
    [mail] = wait_for(lambda: mailbox.messages[before:], 10, message="the email")
    assert "open_dome" in mail["Subject"] and "ops@example.org" in mail["To"]
    assert "'jam'" in mail.get_payload()


def test_an_error_of_several_lines_is_emailed_with_a_one_line_subject(
    settings: Settings,
    smtp_server,  # noqa: F811
) -> None:
    # A failed fan-out's StepFailed lists its units on lines of their own; a line break
    # in a header would make the email itself raise instead of the step's error.
    _, _, mailbox = smtp_server
    before = len(mailbox.messages)
    pk = submit(settings, order(order_id="units"), Broker()).pk
    message = "bias: 1 of 1 units failed:\nbinning 2: 1 usable frames\r\nat least 3"
    with pytest.raises(DomeJammed), record_step(settings, pk, "bias"):
        raise DomeJammed(message)
    [mail] = wait_for(lambda: mailbox.messages[before:], 10, message="the email")
    # Unfolded as RFC 5322 says (a long header is sent folded over lines).
    subject = re.sub(r"\r\n(?=[ \t])", "", mail["Subject"])
    assert subject.endswith(
        "step bias failed: DomeJammed: bias: 1 of 1 units failed: binning 2: 1 usable "
        "frames at least 3"
    )
    # The body keeps the message's lines.
    body = mail.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert message.replace("\r\n", "\n") in body
    [run] = runs(settings)
    assert run.error == f"DomeJammed: {message}"


def test_a_failed_fan_out_keeps_its_unit_tracebacks_out_of_its_error(
    settings: Settings,
    smtp_server,  # noqa: F811
) -> None:
    _, _, mailbox = smtp_server
    before = len(mailbox.messages)
    pk = submit(settings, order(order_id="fan-out"), Broker()).pk
    try:
        raise MasterFrameMissing("no master dark for 60 s exposures")
    except MasterFrameMissing as error:
        trace = "".join(traceback.format_exception(error))
    outcomes = [{"label": "R", "ok": True, "outputs": {}},
                {"label": "V", "ok": False, "error": "MasterFrameMissing: no master dark for 60 s"
                 " exposures", "traceback": trace}]  # fmt: skip
    with pytest.raises(StepFailed), record_step(settings, pk, "light"):
        gather("light", outcomes)
    [run] = runs(settings)
    assert run.error == (
        "StepFailed: light: 1 of 2 units failed:\n"
        "V: MasterFrameMissing: no master dark for 60 s exposures"
    )
    assert run.traceback is not None and run.traceback.endswith(f"Unit tracebacks:\n{trace}")
    [mail] = wait_for(lambda: mailbox.messages[before:], 10, message="the email")
    body = mail.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert trace in body


def test_smtp_down_still_records_the_error_and_says_the_email_failed(
    database_url: str, tmp_path
) -> None:
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        admin_emails=["ops@x.org"],
        smtp=SmtpSettings(host="127.0.0.1", port=free_port(), attempts=2),
    )
    pk = submit(settings, order(), Broker()).pk
    with pytest.raises(DomeJammed), record_step(settings, pk, "open_dome"):
        raise DomeJammed("stalled")
    [run] = runs(settings)
    assert run.state == StepState.FAILED
    assert "admin email failed" in (run.error or "")


def test_skipped_step_is_a_recorded_outcome(settings: Settings) -> None:
    pk = submit(settings, order(), Broker()).pk
    record_skipped_step(settings, pk, "astrometry", "solve-field is not installed")
    [run] = runs(settings)
    assert run.state == StepState.SKIPPED and run.error == "solve-field is not installed"


def test_a_skipped_step_is_an_attempt_of_its_own_with_its_reason(settings: Settings) -> None:
    pk = submit(settings, order(order_id="skips"), Broker()).pk
    record_skipped_step(settings, pk, "astrometry", "no index files", task_id="t-9")
    record_skipped_step(settings, pk, "astrometry", "still no index files")
    first, second = runs(settings)
    assert (first.attempt, second.attempt) == (1, 2)
    assert first.task_id == "t-9" and first.step == "astrometry"
    assert first.started_at is not None and first.started_at == first.ended_at
    assert second.error == "still no index files"


def test_outputs_written_before_a_failure_are_kept(settings: Settings) -> None:
    pk = submit(settings, order(order_id="partial"), Broker()).pk
    with pytest.raises(DomeJammed), record_step(settings, pk, "stack_darks") as record:
        record.outputs = {"masters": 2}
        raise DomeJammed("third group failed")
    [run] = runs(settings)
    assert run.state == StepState.FAILED and run.outputs == {"masters": 2}


def test_attempts_are_counted_per_order_and_step(settings: Settings) -> None:
    first = submit(settings, order(order_id="n1"), Broker()).pk
    second = submit(settings, order(order_id="n2"), Broker()).pk
    for pk, step in ((first, "bias"), (first, "dark"), (second, "bias"), (first, "bias")):
        with record_step(settings, pk, step):
            pass
    assert [(r.work_order_pk, r.step, r.attempt) for r in runs(settings)] == [
        (first, "bias", 1),
        (first, "dark", 1),
        (second, "bias", 1),
        (first, "bias", 2),
    ]


def step_log(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [
        (record.levelname, record.getMessage())
        for record in caplog.records
        if record.name == "observatory.steps"
    ]


def test_each_attempt_is_logged_with_its_step_order_and_outcome(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    pk = submit(settings, order(order_id="logged"), Broker()).pk
    caplog.set_level(logging.INFO, logger="observatory.steps")
    with record_step(settings, pk, "open_dome"):
        pass
    with pytest.raises(DomeJammed), record_step(settings, pk, "open_dome"):
        raise DomeJammed("stalled")
    assert step_log(caplog) == [
        ("INFO", f"step open_dome of work order {pk}: attempt 1 started"),
        ("INFO", f"step open_dome of work order {pk}: succeeded"),
        ("INFO", f"step open_dome of work order {pk}: attempt 2 started"),
        (
            "ERROR",
            "step open_dome of work order 'logged' (dome_open, user 'Main Module') failed:"
            " DomeJammed: stalled",
        ),
    ]


def test_an_email_that_cannot_be_sent_is_logged_naming_the_step(
    database_url: str, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        admin_emails=["ops@x.org"],
        smtp=SmtpSettings(host="127.0.0.1", port=free_port(), attempts=1),
    )
    pk = submit(settings, order(order_id="unmailed"), Broker()).pk
    caplog.set_level(logging.INFO, logger="observatory.steps")
    with pytest.raises(DomeJammed), record_step(settings, pk, "close_dome"):
        raise DomeJammed("stalled")
    assert step_log(caplog)[-1] == (
        "ERROR",
        "the admins were not told of the failure of step close_dome",
    )
