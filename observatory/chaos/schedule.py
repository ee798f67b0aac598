"""The seeded fault schedule of a chaos night (pure: the same seed, the same faults)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from observatory.db.server import STOP_MODES

# Children of the stack that a fault may SIGKILL (the embedded Redis is its own kind).
KILL_TARGETS = ("worker-dome", "worker-telescope", "worker-processor", "beat", "supervisor")
# Simulator faults: (device type, fault spec, seconds before it is cleared).
DEVICE_FAULTS: tuple[tuple[str, dict[str, Any], float], ...] = (
    ("dome", {"kind": "slow", "delay_s": 0.4, "count": 30}, 20.0),
    ("dome", {"kind": "error", "member": "shutterstatus", "error_number": 0x500, "count": 2}, 10.0),
    ("dome", {"kind": "stuck_shutter", "mode": "moving"}, 8.0),
    ("camera", {"kind": "error_state"}, 0.0),
    ("camera", {"kind": "slow", "delay_s": 0.5, "count": 10}, 15.0),
    ("telescope", {"kind": "slow", "delay_s": 0.3, "count": 20}, 15.0),
)
# Kinds in the order a night's draws cycle through them, so that every kind is met.
# "db_lock" is the database fault of SQLite; on PostgreSQL it becomes "db_stop" (see
# :func:`night_faults`).
KINDS = ("kill", "device", "redis", "db_lock", "unsafe", "kill", "device")


@dataclass(frozen=True)
class Fault:
    """One fault: ``kind`` (kill, redis, db_lock, db_stop, device, unsafe) at ``at_s``
    wall seconds into a night, on ``target`` (a child name or a device type), lasting
    ``duration_s`` (0: instantaneous) with the simulator ``spec`` of a device fault (for
    db_stop, the pg_ctl stop ``mode``)."""

    night: int
    at_s: float
    kind: str
    target: str
    duration_s: float = 0.0
    spec: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        what = f"{self.kind} {self.target}"
        if self.spec:
            what += f" {self.spec.get('kind', self.spec.get('mode'))}"
        return what + (f" for {self.duration_s:g} s" if self.duration_s else "")


def night_faults(
    seed: int, night: int, span_s: float, count: int = 7, database: str | None = "sqlite"
) -> list[Fault]:
    """``count`` faults spread over the first ``span_s`` wall seconds of night ``night``,
    in time order; the draw depends only on ``seed``, ``night`` and ``database``: the
    database fault is a SQLite lock (``"sqlite"``), PostgreSQL stopped and started
    (``"postgres"``), or none (None: a database the run cannot stop; one fault fewer)."""
    rng = random.Random(f"chaos/{seed}/{night}")
    # Evenly spaced slots with jitter: faults rarely pile up, and the stack gets a moment
    # to recover from each before the next.
    slot_s = span_s / count
    kinds = list(KINDS[:count]) + [rng.choice(KINDS) for _ in range(count - len(KINDS))]
    rng.shuffle(kinds)
    faults = []
    for index, kind in enumerate(kinds):
        at_s = slot_s * index + rng.uniform(0.2, 0.8) * slot_s
        fault = _draw(rng, night, at_s, kind)
        if kind == "db_lock" and database is None:
            continue
        if kind == "db_lock" and database == "postgres":
            # Drawn aside, so that the seed's other faults stay those of a SQLite run.
            fault = _server_stop(random.Random(f"chaos/{seed}/{night}/postgres"), fault)
        faults.append(fault)
    return faults


def _server_stop(rng: random.Random, lock: Fault) -> Fault:
    duration_s = round(rng.uniform(5.0, 20.0), 1)
    spec = {"mode": rng.choice(STOP_MODES)}
    return Fault(lock.night, lock.at_s, "db_stop", "postgres", duration_s, spec)


def _draw(rng: random.Random, night: int, at_s: float, kind: str) -> Fault:
    if kind == "kill":
        return Fault(night, at_s, kind, rng.choice(KILL_TARGETS))
    if kind == "redis":
        return Fault(night, at_s, kind, "redis")
    if kind == "db_lock":
        return Fault(night, at_s, kind, "database", duration_s=round(rng.uniform(2.0, 6.0), 1))
    if kind == "unsafe":
        return Fault(night, at_s, kind, "safetymonitor", duration_s=round(rng.uniform(5, 15), 1))
    device, spec, duration_s = rng.choice(DEVICE_FAULTS)
    return Fault(night, at_s, "device", device, duration_s, dict(spec))
