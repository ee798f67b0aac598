"""The supervisor's verdict as a pure function of what it read and the time.

:func:`decide` takes the previous :class:`Memory`, this poll's :class:`Readings` and
``now``, and returns a :class:`Decision`: whether the dome must be closed, whether it may
be opened (and why not), the events to record, and the memory for the next poll. It reads
no device, clock or database, so every rule is tested with plain values.

The rules, in short: conditions are safe only when the safety monitor's last good reading
says safe, the last read did not fail and that reading is younger than ``stale_after_s``
(unknown, at start too, is unsafe). The dome is closed when conditions are not safe, at
dawn (the Sun above ``dawn_sun_altitude_deg``), when the liveness beat of a worker in
``live_workers`` is older than ``heartbeat_timeout_s`` (the stack is not alive), or, with
``idle_close_after_s`` set, when no dome or telescope order used the open dome for that
long; each only while the shutter is not known to be closed. Opening is allowed only when
safe for ``hold_off_s`` without a break and it is not dawn.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from observatory.devices.dome import ShutterState
from observatory.settings import SupervisorSettings


@dataclass(frozen=True)
class SafetyReading:
    """One good answer of the safety monitor and when it was read (aware UTC)."""

    safe: bool
    read_at: dt.datetime


@dataclass(frozen=True)
class Readings:
    """What the supervisor saw in one poll.

    ``safety`` is the last good safety reading (None: never read); ``safety_error`` is the
    error of this poll's read when it failed. ``shutter`` is None when the dome could not
    be read. ``heartbeats`` holds each live worker's last beat by queue (None: it never
    beat, or it could not be read). ``last_used_at`` is when a dome or telescope order last
    ran (None: never); ``busy`` whether one runs now.
    """

    safety: SafetyReading | None
    safety_error: str | None
    shutter: ShutterState | None
    heartbeats: dict[str, dt.datetime | None]
    sun_altitude_deg: float
    last_used_at: dt.datetime | None = None
    busy: bool = False


@dataclass(frozen=True)
class Memory:
    """What carries from one poll to the next. ``safe_since`` is when conditions turned
    safe (None while unsafe); the flags are last poll's, to record only transitions."""

    safe_since: dt.datetime | None = None
    unsafe: bool | None = None
    dawn: bool = False
    heartbeat_lost: bool = False
    opening_allowed: bool = False
    # When this supervisor first saw the shutter not closed (None: closed).
    open_since: dt.datetime | None = None
    idle: bool = False


@dataclass(frozen=True)
class Event:
    """A supervisor event to record in ``device_events`` (device ``supervisor``)."""

    event: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """The verdict of one poll.

    ``close_reasons`` is empty when the dome may stay as it is; otherwise it names why it
    must be closed (``unsafe: ...``, ``dawn: ...``, ``heartbeat_lost: ...``, ``idle: ...``).
    ``opening_reason`` says why opening is refused, or what allows it. ``hold_off_until``
    is set only when the hold-off alone refuses opening (safe, not dawn): when it ends, so
    that an opener may wait for it rather than fail.
    """

    safe: bool
    unsafe_reason: str | None
    close_reasons: tuple[str, ...]
    opening_allowed: bool
    opening_reason: str
    allowed_from: dt.datetime | None
    events: tuple[Event, ...]
    memory: Memory
    hold_off_until: dt.datetime | None = None

    @property
    def close(self) -> bool:
        return bool(self.close_reasons)


def safety_verdict(readings: Readings, now: dt.datetime, config: SupervisorSettings) -> str | None:
    """Why conditions are not known safe, or None when they are."""
    if readings.safety_error is not None:
        return f"safety monitor error: {readings.safety_error}"
    if readings.safety is None:
        return "safety monitor not read yet (unknown)"
    age_s = (now - readings.safety.read_at).total_seconds()
    if age_s > config.stale_after_s:
        return f"safety reading stale: {age_s:.0f} s old (limit {config.stale_after_s:g} s)"
    if not readings.safety.safe:
        return "safety monitor reports unsafe"
    return None


def _shutter_word(readings: Readings) -> str:
    return "unknown" if readings.shutter is None else readings.shutter.name.lower()


def heartbeat_lost_reason(
    readings: Readings, now: dt.datetime, config: SupervisorSettings
) -> str | None:
    """Why the open dome has no live stack (a worker of ``live_workers`` not beating), or
    None. A dome that cannot be read counts as open; a missing beat counts as infinitely
    old."""
    if readings.shutter is ShutterState.CLOSED:
        return None
    lost = []
    for queue in config.live_workers:
        beat_at = readings.heartbeats.get(queue)
        if beat_at is None:
            lost.append(f"no {queue}-worker heartbeat")
            continue
        age_s = (now - beat_at).total_seconds()
        if age_s > config.heartbeat_timeout_s:
            lost.append(
                f"{queue}-worker heartbeat {age_s:.0f} s old"
                f" (limit {config.heartbeat_timeout_s:g} s)"
            )
    if not lost:
        return None
    return f"{', '.join(lost)} while the shutter is {_shutter_word(readings)}"


def idle_reason(
    readings: Readings, open_since: dt.datetime | None, now: dt.datetime, config: SupervisorSettings
) -> str | None:
    """Why the open dome counts as unused for ``idle_close_after_s``, or None (also when
    that setting is off). Idle time runs from the later of the last dome or telescope
    order and the moment this supervisor first saw the shutter open."""
    limit_s = config.idle_close_after_s
    if limit_s is None or readings.busy or open_since is None:
        return None
    since = max(t for t in (readings.last_used_at, open_since) if t is not None)
    idle_s = (now - since).total_seconds()
    if idle_s <= limit_s:
        return None
    return (
        f"nothing used the dome for {idle_s:.0f} s (limit {limit_s:g} s) while the shutter"
        f" is {_shutter_word(readings)}"
    )


def decide(
    memory: Memory, readings: Readings, now: dt.datetime, config: SupervisorSettings
) -> Decision:
    """The verdict for this poll; ``now`` is aware UTC. See the module docstring."""
    unsafe_reason = safety_verdict(readings, now, config)
    safe = unsafe_reason is None
    dawn = readings.sun_altitude_deg > config.dawn_sun_altitude_deg
    dawn_reason = (
        f"Sun at {readings.sun_altitude_deg:.1f} deg, above {config.dawn_sun_altitude_deg:g} deg"
    )
    lost_reason = heartbeat_lost_reason(readings, now, config)
    open_since = None if readings.shutter is ShutterState.CLOSED else (memory.open_since or now)
    unused_reason = idle_reason(readings, open_since, now, config)

    safe_since = (memory.safe_since or now) if safe else None
    allowed_from = safe_since + dt.timedelta(seconds=config.hold_off_s) if safe_since else None
    opening_allowed, opening_reason, hold_off_until = _opening(
        unsafe_reason, dawn_reason if dawn else None, allowed_from, now
    )

    close_reasons = []
    if not safe:
        close_reasons.append(f"unsafe: {unsafe_reason}")
    if dawn:
        close_reasons.append(f"dawn: {dawn_reason}")
    if lost_reason is not None:
        close_reasons.append(f"heartbeat_lost: {lost_reason}")
    if unused_reason is not None:
        close_reasons.append(f"idle: {unused_reason}")

    events: list[Event] = []
    if not safe and memory.unsafe is not True:
        events.append(Event("unsafe", {"reason": unsafe_reason}))
    if safe and memory.unsafe is not False:
        until = None if allowed_from is None else allowed_from.isoformat()
        events.append(Event("hold_off_started", {"until": until, "hold_off_s": config.hold_off_s}))
    if dawn and not memory.dawn:
        events.append(Event("dawn", {"sun_altitude_deg": readings.sun_altitude_deg}))
    if lost_reason is not None and not memory.heartbeat_lost:
        events.append(Event("heartbeat_lost", {"reason": lost_reason}))
    if unused_reason is not None and not memory.idle:
        events.append(Event("idle", {"reason": unused_reason}))
    if opening_allowed and not memory.opening_allowed:
        since = None if safe_since is None else safe_since.isoformat()
        events.append(Event("opening_allowed", {"safe_since": since}))

    new_memory = replace(
        memory,
        safe_since=safe_since,
        unsafe=not safe,
        dawn=dawn,
        heartbeat_lost=lost_reason is not None,
        opening_allowed=opening_allowed,
        open_since=open_since,
        idle=unused_reason is not None,
    )
    return Decision(
        safe=safe,
        unsafe_reason=unsafe_reason,
        close_reasons=tuple(close_reasons),
        opening_allowed=opening_allowed,
        opening_reason=opening_reason,
        allowed_from=allowed_from,
        events=tuple(events),
        memory=new_memory,
        hold_off_until=hold_off_until,
    )


def _opening(
    unsafe_reason: str | None,
    dawn_reason: str | None,
    allowed_from: dt.datetime | None,
    now: dt.datetime,
) -> tuple[bool, str, dt.datetime | None]:
    """Whether opening is allowed, why (not), and when the hold-off ends if it alone
    refuses."""
    if unsafe_reason is not None or allowed_from is None:
        return False, f"unsafe: {unsafe_reason}", None
    if dawn_reason is not None:
        return False, f"dawn: {dawn_reason}", None
    if now < allowed_from:
        wait_s = (allowed_from - now).total_seconds()
        reason = f"hold-off: opening allowed from {allowed_from:%H:%M:%S} UTC ({wait_s:.0f} s)"
        return False, reason, allowed_from
    return True, "safe for the whole hold-off, Sun below the dawn limit", None
