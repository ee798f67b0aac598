"""The supervisor's rules, as a pure function of readings and an injected clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from observatory.devices.dome import ShutterState
from observatory.settings import SupervisorSettings
from observatory.supervisor.decision import Decision, Memory, Readings, SafetyReading, decide

T0 = dt.datetime(2026, 11, 23, 22, 0, tzinfo=dt.UTC)
CONFIG = SupervisorSettings(
    stale_after_s=30, hold_off_s=300, heartbeat_timeout_s=60, dawn_sun_altitude_deg=-6
)
NIGHT_SUN_DEG = -30.0


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def readings(
    now_s: float,
    safe: bool | None = True,
    error: str | None = None,
    shutter: ShutterState | None = ShutterState.OPEN,
    heartbeat_s: float | None = None,
    sun_deg: float = NIGHT_SUN_DEG,
    read_s: float | None = None,
) -> Readings:
    """Readings at ``now_s``: a fresh safety reading unless ``safe`` is None, and a fresh
    heartbeat unless ``heartbeat_s`` says when it was."""
    reading = None if safe is None else SafetyReading(safe, at(now_s if read_s is None else read_s))
    return Readings(
        safety=reading,
        safety_error=error,
        shutter=shutter,
        heartbeats=dict.fromkeys(CONFIG.live_workers, at(now_s))
        | {"telescope": at(now_s if heartbeat_s is None else heartbeat_s)},
        sun_altitude_deg=sun_deg,
    )


def run(
    steps: list[tuple[float, Readings]],
    memory: Memory | None = None,
    config: SupervisorSettings = CONFIG,
) -> list[Decision]:
    """Feed readings through decide() in order, carrying the memory like the loop does."""
    decisions = []
    memory = memory or Memory()
    for now_s, reading in steps:
        decision = decide(memory, reading, at(now_s), config)
        memory = decision.memory
        decisions.append(decision)
    return decisions


def names(decision: Decision) -> list[str]:
    return [event.event for event in decision.events]


def test_unknown_at_start_is_unsafe() -> None:
    (decision,) = run([(0, readings(0, safe=None))])
    assert not decision.safe and decision.close and not decision.opening_allowed
    assert "unknown" in (decision.unsafe_reason or "")
    assert names(decision) == ["unsafe"]


def test_first_safe_reading_starts_the_hold_off_rather_than_allowing() -> None:
    (decision,) = run([(0, readings(0))])
    assert decision.safe and not decision.close
    assert not decision.opening_allowed and "hold-off" in decision.opening_reason
    assert decision.allowed_from == at(300)
    assert names(decision) == ["hold_off_started"]


def test_monitor_error_is_unsafe_even_with_a_recent_safe_reading() -> None:
    (decision,) = run([(10, readings(10, read_s=5, error="DeviceTimeout: no answer"))])
    assert not decision.safe and decision.close
    assert "safety monitor error: DeviceTimeout" in (decision.unsafe_reason or "")


def test_stale_reading_is_unsafe() -> None:
    fresh, stale = run([(0, readings(0)), (31, readings(31, read_s=0))])
    assert fresh.safe
    assert not stale.safe and stale.close and "stale" in (stale.unsafe_reason or "")
    assert names(stale) == ["unsafe"]


def test_reading_exactly_at_the_stale_limit_still_counts() -> None:
    (decision,) = run([(30, readings(30, read_s=0))])
    assert decision.safe


def test_unsafe_monitor_closes_and_refuses() -> None:
    (decision,) = run([(0, readings(0, safe=False))])
    assert decision.close and not decision.opening_allowed
    assert decision.close_reasons == ("unsafe: safety monitor reports unsafe",)
    assert decision.opening_reason.startswith("unsafe:")


def test_unsafe_event_is_recorded_once_per_episode() -> None:
    decisions = run([(s, readings(s, safe=False)) for s in (0, 2, 4)])
    assert [names(d) for d in decisions] == [["unsafe"], [], []]
    assert all(d.close for d in decisions)


def test_hold_off_timing() -> None:
    steps = [(0, readings(0, safe=False))]
    steps += [(s, readings(s)) for s in (10, 100, 309.9, 310, 400)]
    unsafe, turned_safe, waiting, just_before, allowed, still = run(steps)
    assert unsafe.close and not unsafe.opening_allowed
    assert names(turned_safe) == ["hold_off_started"]
    assert turned_safe.allowed_from == at(310)
    assert not waiting.opening_allowed and not just_before.opening_allowed
    assert allowed.opening_allowed and names(allowed) == ["opening_allowed"]
    assert still.opening_allowed and names(still) == []
    assert not any(d.close for d in (turned_safe, waiting, allowed))


def test_a_short_unsafe_spell_restarts_the_hold_off() -> None:
    steps = [(0, readings(0)), (299, readings(299, safe=False)), (300, readings(300))]
    steps += [(599, readings(599)), (600, readings(600))]
    decisions = run(steps)
    assert [d.opening_allowed for d in decisions] == [False, False, False, False, True]
    assert decisions[2].allowed_from == at(600)


def test_an_error_after_opening_was_allowed_withdraws_it() -> None:
    memory = run([(0, readings(0)), (300, readings(300))])[-1].memory
    assert memory.opening_allowed
    (decision,) = run([(302, readings(302, read_s=300, error="DeviceUnreachable"))], memory)
    assert not decision.opening_allowed and decision.close
    assert names(decision) == ["unsafe"]


def test_dawn_closes_and_refuses_even_when_safe() -> None:
    memory = run([(0, readings(0)), (300, readings(300))])[-1].memory
    (decision,) = run([(301, readings(301, sun_deg=-5.9))], memory)
    assert decision.safe and decision.close and not decision.opening_allowed
    assert decision.close_reasons[0].startswith("dawn:")
    assert decision.opening_reason.startswith("dawn:")
    assert names(decision) == ["dawn"]


def test_sun_at_the_dawn_limit_is_not_yet_dawn() -> None:
    (decision,) = run([(0, readings(0, sun_deg=-6.0))], Memory(safe_since=at(-1000)))
    assert not decision.close and decision.opening_allowed


@pytest.mark.parametrize(
    "shutter", [ShutterState.OPEN, ShutterState.OPENING, ShutterState.CLOSING, None]
)
def test_lost_heartbeat_with_the_dome_not_closed_closes_it(shutter: ShutterState | None) -> None:
    (decision,) = run([(100, readings(100, shutter=shutter, heartbeat_s=39))])
    assert decision.safe
    assert len(decision.close_reasons) == 1
    assert decision.close_reasons[0].startswith("heartbeat_lost: telescope-worker heartbeat 61 s")
    assert "heartbeat_lost" in names(decision)


def test_lost_heartbeat_with_the_dome_closed_is_no_concern() -> None:
    (decision,) = run([(100, readings(100, shutter=ShutterState.CLOSED, heartbeat_s=0))])
    assert not decision.close and names(decision) == ["hold_off_started"]


def test_missing_heartbeat_row_counts_as_lost_while_open() -> None:
    reading = replace(readings(0), heartbeats={"dome": at(0)})
    (decision,) = run([(0, reading)])
    assert decision.close and "no telescope-worker heartbeat" in decision.close_reasons[0]


def test_fresh_heartbeat_keeps_the_open_dome_open() -> None:
    (decision,) = run([(100, readings(100, heartbeat_s=40))])
    assert not decision.close


def test_lost_heartbeat_does_not_refuse_opening() -> None:
    memory = Memory(safe_since=at(-1000), opening_allowed=True, unsafe=False)
    (decision,) = run([(0, readings(0, heartbeat_s=-100))], memory)
    assert decision.close and decision.opening_allowed


def test_every_reason_is_listed_together() -> None:
    (decision,) = run([(0, readings(0, safe=False, heartbeat_s=-100, sun_deg=10.0))])
    kinds = [reason.split(":")[0] for reason in decision.close_reasons]
    assert kinds == ["unsafe", "dawn", "heartbeat_lost"]
    assert names(decision) == ["unsafe", "dawn", "heartbeat_lost"]


def test_event_details_are_json_safe() -> None:
    import json

    decisions = run([(0, readings(0)), (300, readings(300, sun_deg=0.0, heartbeat_s=0))])
    decisions += run([(0, readings(0, safe=None))])
    for decision in decisions:
        for event in decision.events:
            json.dumps(event.details)


def test_a_dead_dome_worker_closes_the_open_dome_too() -> None:
    reading = replace(readings(100), heartbeats={"dome": at(30), "telescope": at(100)})
    (decision,) = run([(100, reading)])
    assert decision.close_reasons == (
        "heartbeat_lost: dome-worker heartbeat 70 s old (limit 60 s) while the shutter is open",
    )


def test_default_liveness_closes_within_twenty_seconds_of_a_death() -> None:
    defaults = SupervisorSettings()
    # The last beat, then a poll every poll_interval_s: the first poll past the timeout closes.
    assert defaults.heartbeat_timeout_s + defaults.poll_interval_s <= 20.0
    assert defaults.liveness_interval_s * 3 <= defaults.heartbeat_timeout_s
    assert set(defaults.live_workers) == {"dome", "telescope"}


IDLE = CONFIG.model_copy(update={"idle_close_after_s": 600.0})


def test_an_open_dome_nothing_uses_closes_after_the_idle_limit() -> None:
    steps = [(t, replace(readings(t), last_used_at=at(0))) for t in (0, 600, 601)]
    decisions = run(steps, config=IDLE)
    assert [d.close for d in decisions] == [False, False, True]
    assert decisions[2].close_reasons[0].startswith("idle: nothing used the dome for 601 s")
    assert "idle" in names(decisions[2])


def test_a_busy_or_recently_used_dome_is_not_idle_and_the_limit_is_off_by_default() -> None:
    busy = replace(readings(5000), last_used_at=at(0), busy=True)
    assert not run([(5000, busy)], config=IDLE)[0].close
    recent = replace(readings(5000), last_used_at=at(4500))
    assert not run([(5000, recent)], config=IDLE)[0].close
    assert not run([(5000, replace(recent, last_used_at=at(0)))])[0].close


def test_a_night_records_each_event_once_with_its_details() -> None:
    # Unknown, then safe (hold-off), allowed, then dawn; the heartbeat is lost in between.
    steps = [
        (0, readings(0, safe=None, shutter=ShutterState.CLOSED)),
        (10, readings(10, shutter=ShutterState.CLOSED)),
        (310, readings(310, shutter=ShutterState.CLOSED)),
        (320, readings(320, shutter=ShutterState.OPEN, heartbeat_s=200)),
        (330, readings(330, shutter=ShutterState.OPEN, heartbeat_s=200)),
        (340, readings(340, shutter=ShutterState.OPEN, sun_deg=-5.5)),
        (350, readings(350, shutter=ShutterState.OPEN, sun_deg=-5.0)),
    ]
    decisions = run(steps)
    events = [[(e.event, e.details) for e in d.events] for d in decisions]
    assert events == [
        [("unsafe", {"reason": "safety monitor not read yet (unknown)"})],
        [("hold_off_started", {"until": at(310).isoformat(), "hold_off_s": 300})],
        [("opening_allowed", {"safe_since": at(10).isoformat()})],
        [
            (
                "heartbeat_lost",
                {
                    "reason": "telescope-worker heartbeat 120 s old (limit 60 s)"
                    " while the shutter is open"
                },
            )
        ],
        [],
        [("dawn", {"sun_altitude_deg": -5.5})],
        [],
    ]
    memories = [d.memory for d in decisions]
    assert [m.unsafe for m in memories] == [True, False, False, False, False, False, False]
    assert [m.heartbeat_lost for m in memories] == [False, False, False, True, True, False, False]
    assert [m.dawn for m in memories] == [False, False, False, False, False, True, True]
    assert [m.opening_allowed for m in memories] == [False, False, True, True, True, False, False]
    assert decisions[2].opening_reason == "safe for the whole hold-off, Sun below the dawn limit"
    assert decisions[5].opening_reason == "dawn: Sun at -5.5 deg, above -6 deg"


def test_an_unreadable_shutter_is_named_unknown_in_the_lost_heartbeat_reason() -> None:
    (decision,) = run([(100, readings(100, shutter=None, heartbeat_s=0))])
    assert decision.close_reasons == (
        "heartbeat_lost: telescope-worker heartbeat 100 s old (limit 60 s)"
        " while the shutter is unknown",
    )


def test_dawn_while_safe_but_in_hold_off_names_dawn_not_unsafe() -> None:
    (decision,) = run([(0, readings(0, sun_deg=-1.0))])
    assert not decision.opening_allowed
    assert decision.opening_reason == "dawn: Sun at -1.0 deg, above -6 deg"


def test_unsafe_with_a_known_reason_refuses_naming_it() -> None:
    (decision,) = run([(0, readings(0, safe=False))])
    assert decision.opening_reason == "unsafe: safety monitor reports unsafe"
    assert decision.allowed_from is None
