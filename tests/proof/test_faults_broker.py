"""Faults of the broker: Redis stopped and restarted during a night (AOF on), the broker
unreachable when the CLI submits, and the same message delivered twice. One private
stack (faults_stack.py) without the safety supervisor: the dome is driven freely."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from observatory.db.models import WorkOrder
from observatory.db.session import session_scope
from observatory.embedded_redis import EmbeddedRedis, ping
from tests.helpers import wait_for
from tests.proof.faults_stack import FaultStack, order, running_stack, zenith

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

# The reconciler passes every 5 s and republishes orders unpublished for 1 s; the
# workers' reconnection backs off by up to a few seconds; a dome order takes about 1 s.
RECONCILER_EVERY_S = 5.0
RECONCILE_AFTER_S = 1.0
STACK_ENV = {"OBSERVATORY_RECONCILE_AFTER_S": repr(RECONCILE_AFTER_S)}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    with running_stack(tmp_path_factory.mktemp("broker"), STACK_ENV) as running:
        yield running


def redis_of(stack: FaultStack) -> EmbeddedRedis:
    assert stack.stack.redis is not None, "the private stack runs its own Redis"
    return stack.stack.redis


def test_redis_restart_during_a_night_loses_no_order(stack: FaultStack) -> None:
    redis = redis_of(stack)
    # Replies slowed down keep the dome worker busy, so orders wait in Redis's queue.
    stack.fault("dome", {"kind": "slow", "delay_s": 0.3})
    plan = [{"filter": "R", "exposure_s": 10.0, "count": 1, "binning": 4}]
    observation = stack.submit(order("observation", exposures=plan, **zenith(stack))).pk
    # Dome orders that read rather than turn: a turn would be refused while the observation
    # keeps the slit on the mount (tests/proof/test_dome_contention.py).
    queued = [stack.submit(order("dome_status")).pk for _ in range(3)]

    redis.stop()
    assert not ping(redis.port)
    # Submitted while the broker is down: stored, not published.
    while_down = [stack.submit(order("dome_status"), published=False).pk for _ in range(2)]
    redis.start()
    restarted_s = time.monotonic()
    stack.fault("dome", {"kind": "clear"})

    bound_s = 60.0
    ended = {pk: stack.outcome(pk, timeout_s=bound_s) for pk in [*queued, *while_down]}
    ended[observation] = stack.outcome(observation, timeout_s=bound_s)
    elapsed_s = time.monotonic() - restarted_s
    print(f"\nRedis restarted: all {len(ended)} orders ended {elapsed_s:.1f} s later")
    unsucceeded = [o for o in ended.values() if o.state != "succeeded"]
    assert not unsucceeded, unsucceeded
    assert elapsed_s < bound_s, f"orders ended {elapsed_s:.1f} s after the restart; bound {bound_s}"
    for pk in [*queued, *while_down]:
        assert [(r.step, str(r.state)) for r in stack.steps(pk)] == [("dome_status", "succeeded")]
    # The workers reconnected by themselves: the same processes run as before.
    for queue in ("dome", "telescope"):
        process = stack.child(f"worker-{queue}").process
        assert process is not None and process.poll() is None
        assert stack.log(f"worker-{queue}").count("ready.") == 1


def test_cli_submit_with_the_broker_down_is_published_by_the_reconciler(
    stack: FaultStack,
) -> None:
    redis = redis_of(stack)
    data = order("dome_set_azimuth", azimuth_deg=75.0)
    redis.stop()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "observatory.cli.main", "submit", "-"],
            input=json.dumps(data),
            capture_output=True,
            text=True,
            timeout=120,
            env=stack.stack.env,
        )
    finally:
        redis.start()
    restarted_s = time.monotonic()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [data["id"]]
    assert "stored; it is published when the broker answers" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr

    with session_scope(stack.settings.sqlalchemy_url) as session:
        row = session.scalars(select(WorkOrder).where(WorkOrder.order_id == data["id"])).one()
        pk = row.pk
        assert row.state == "queued" and row.published_at is None

    bound_s = RECONCILER_EVERY_S + RECONCILE_AFTER_S + 20.0
    outcome = stack.outcome(pk, timeout_s=bound_s + 30)
    elapsed_s = time.monotonic() - restarted_s
    print(f"\nCLI order stored while Redis was down: {outcome.state} {elapsed_s:.1f} s after")
    assert outcome.state == "succeeded", outcome
    assert elapsed_s < bound_s, f"ended {elapsed_s:.1f} s after Redis came back; bound {bound_s}"
    assert "republished work orders" in stack.log("reconciler")


def test_dome_message_delivered_twice_runs_once(stack: FaultStack) -> None:
    receipt = stack.submit(order("dome_set_azimuth", azimuth_deg=33.0))
    stack.republish(receipt.pk)
    duplicate = f"work order {receipt.pk} is "
    wait_for(lambda: duplicate in stack.log("worker-dome"), 30, message="the second delivery")
    outcome = stack.outcome(receipt.pk)
    assert (outcome.state, outcome.attempts) == ("succeeded", 1)
    runs = stack.steps(receipt.pk)
    assert [(r.step, r.attempt, str(r.state)) for r in runs] == [("set_azimuth", 1, "succeeded")]
