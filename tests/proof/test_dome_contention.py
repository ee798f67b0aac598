"""Two workers, one dome: while an observation keeps the slit on the mount, a dome order
that would turn the dome is refused (failed, with the observation named) before anything
is sent, and the observation goes on undisturbed. One private stack (faults_stack.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from observatory.db.models import Heartbeat
from observatory.db.session import session_scope
from observatory.telescope.heartbeat import TELESCOPE_HEARTBEAT
from tests.helpers import wait_for
from tests.proof.faults_stack import FaultStack, order, running_stack, zenith

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    with running_stack(tmp_path_factory.mktemp("contention"), {}) as running:
        yield running


def slaved_by(stack: FaultStack) -> int | None:
    """The order the telescope worker's heartbeat says keeps the dome on the mount."""
    with session_scope(stack.settings.sqlalchemy_url) as session:
        row = session.get(Heartbeat, TELESCOPE_HEARTBEAT)
        details = dict(row.details or {}) if row is not None else {}
    return details.get("work_order_pk") if details.get("dome_slaved") else None


def test_a_dome_turn_is_refused_while_an_observation_keeps_the_slit_on_the_mount(
    stack: FaultStack,
) -> None:
    # Three exposures of 40 s: 6 s of wall time at the stack's time scale.
    plan = [{"filter": "R", "exposure_s": 40.0, "count": 3, "binning": 4}]
    observing = stack.submit(order("observation", exposures=plan, **zenith(stack)))
    observation = observing.pk
    wait_for(lambda: slaved_by(stack) == observation, 60, message="the dome slaved")

    assert not stack.smtp.messages
    turn = stack.submit(order("dome_set_azimuth", azimuth_deg=200.0)).pk
    refused = stack.outcome(turn)
    assert refused.state == "failed", refused
    holder = f"telescope work order {observing.order_id!r}"
    assert f"the dome follows {holder}" in (refused.reason or "")
    assert stack.outcome(observation).state == "succeeded"
    mails = wait_for(lambda: stack.smtp.messages, 30, message="the refusal mailed to the admins")
    assert "set_azimuth" in mails[0]["Subject"], mails[0]["Subject"]
    assert holder in mails[0].get_payload(decode=True).decode()

    # Once the observation has ended, the same turn runs.
    again = stack.submit(order("dome_set_azimuth", azimuth_deg=200.0)).pk
    assert stack.outcome(again).state == "succeeded"
