"""Applying the faults of a chaos night to a running stack, and timing its recovery.

Each fault runs on its own thread: wait for its time, apply it, hold it for its duration,
undo it, then poll until the stack is whole again (see :meth:`Injector.recovered`). The
threads only kill, signal, stop and start the PostgreSQL server (``db_stop``: see
:mod:`observatory.db.server`) and send device faults; restarts are the stack's own doing
(:meth:`observatory.stack.Stack.check`, called from the night's main thread).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from observatory.chaos.schedule import Fault
from observatory.db.server import PostgresControl
from observatory.devices.alpaca_errors import FOREIGN_ERRORS
from observatory.embedded_redis import ping
from observatory.stack import Child, Stack

if TYPE_CHECKING:
    from alpaca.device import Device

Undo = Callable[[], None] | None

log = logging.getLogger(__name__)

# Longest wait for the stack to recover from one fault before it counts as not recovered.
RECOVERY_LIMIT_S = 180.0
POLL_S = 0.2
# Holds an exclusive SQLite lock from another process for the given seconds.
LOCK_SCRIPT = (
    "import sqlite3, sys, time\n"
    "db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)\n"
    "db.execute('BEGIN EXCLUSIVE')\n"
    "print('locked', flush=True)\n"
    "time.sleep(float(sys.argv[2]))\n"
    "db.execute('ROLLBACK')\n"
)


@dataclass
class FaultRecord:
    """What happened to one fault: ``recovery_s`` from its end (injection for an
    instantaneous one) until the stack was whole again; None with ``error`` when the
    fault could not be applied or the stack did not recover within RECOVERY_LIMIT_S."""

    fault: Fault
    applied_at_s: float | None = None
    applied: bool = False
    recovery_s: float | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        f = self.fault
        return {
            "night": f.night, "at_s": round(f.at_s, 1), "kind": f.kind, "target": f.target,
            "spec": f.spec, "duration_s": f.duration_s,
            "applied": self.applied,
            "recovery_s": None if self.recovery_s is None else round(self.recovery_s, 2),
            "error": self.error,
        }  # fmt: skip


class Injector:
    """Applies one night's faults to ``stack`` from background threads."""

    def __init__(
        self, stack: Stack, faults: list[Fault], postgres: PostgresControl | None = None
    ) -> None:
        self.stack = stack
        # The server a db_stop fault stops and starts (None: a run on SQLite).
        self.postgres = postgres
        self.records = [FaultRecord(fault) for fault in faults]
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started = time.monotonic()
        # A killed worker's "ready." count in its log when it was killed.
        self._ready_before: dict[int, int] = {}

    def start(self) -> None:
        self._started = time.monotonic()
        for record in self.records:
            thread = threading.Thread(target=self._run, args=(record,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, supervise: Callable[[], None] | None = None) -> list[FaultRecord]:
        """Stop injecting (pending faults are dropped, active ones undone); returns the
        records of the faults that were applied. While an applied fault's recovery is
        still being timed, ``supervise()`` is called every poll: the stack goes on
        restarting what died (a worker killed just before the night's last order ended
        would otherwise never be started again, and never recover)."""
        self.stopping.set()
        for thread in self._threads:
            deadline = time.monotonic() + RECOVERY_LIMIT_S
            while thread.is_alive() and time.monotonic() < deadline:
                if supervise is not None:
                    supervise()
                thread.join(POLL_S)
        return [r for r in self.records if r.applied_at_s is not None]

    def _run(self, record: FaultRecord) -> None:
        fault = record.fault
        if self.stopping.wait(max(0.0, self._started + fault.at_s - time.monotonic())):
            return
        try:
            undo = self._apply(fault)
        except Exception as error:  # noqa: BLE001 - recorded in the ledger, not dropped
            record.applied_at_s = time.monotonic() - self._started
            record.error = f"not applied: {type(error).__name__}: {error}"
            log.error("chaos: %s: %s", fault.describe(), record.error)
            return
        record.applied_at_s = time.monotonic() - self._started
        record.applied = True
        log.warning("chaos: night %d +%.0f s: %s", fault.night, record.applied_at_s,
                    fault.describe())  # fmt: skip
        self.stopping.wait(fault.duration_s)
        # Recovery is timed from the end of the fault, the undoing included (a database
        # server's start is part of its recovery).
        ended = time.monotonic()
        if undo is not None:
            try:
                undo()
            except Exception as error:  # noqa: BLE001 - recorded in the ledger, not dropped
                record.error = f"not undone: {type(error).__name__}: {error}"
                log.error("chaos: %s: %s", fault.describe(), record.error)
                return
        while time.monotonic() - ended < RECOVERY_LIMIT_S:
            if self.recovered(fault):
                record.recovery_s = time.monotonic() - ended
                return
            time.sleep(POLL_S)
        record.error = f"not recovered within {RECOVERY_LIMIT_S:.0f} s"

    # -- faults -------------------------------------------------------------------------

    def _apply(self, fault: Fault) -> Undo:
        if fault.kind == "kill":
            child = self._child(fault.target)
            self._ready_before[id(fault)] = self._ready_count(fault.target)
            assert child.process is not None
            os.killpg(child.process.pid, signal.SIGKILL)
            return None
        if fault.kind == "redis":
            redis = self.stack.redis
            if redis is None or redis.process is None:
                raise RuntimeError("the stack runs no embedded Redis")
            redis.process.kill()
            return None
        if fault.kind == "db_lock":
            return self._lock_database(fault.duration_s)
        if fault.kind == "db_stop":
            return self._stop_database(fault.spec["mode"])
        if fault.kind == "unsafe":
            self._action("safetymonitor", "simulator:set_safe", "false")
            return lambda: self._action("safetymonitor", "simulator:set_safe", "true")
        self._action(fault.target, "simulator:fault", json.dumps(fault.spec))
        if fault.duration_s:
            return lambda: self._action(fault.target, "simulator:fault", '{"kind": "clear"}')
        return None

    def _lock_database(self, duration_s: float) -> Undo:
        url = self.stack.settings.sqlalchemy_url
        if not url.startswith("sqlite:///"):
            raise RuntimeError("a database lock is simulated on SQLite only")
        holder = subprocess.Popen(
            [sys.executable, "-c", LOCK_SCRIPT, url.removeprefix("sqlite:///"), repr(duration_s)],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        assert holder.stdout is not None
        holder.stdout.readline()  # "locked": the lock is held from here on
        return lambda: _wait_quietly(holder, duration_s + 60)

    def _stop_database(self, mode: str) -> Undo:
        postgres = self.postgres
        if postgres is None:
            raise RuntimeError("the run cannot stop this database (no PostgreSQL data directory)")
        postgres.stop(mode)
        return postgres.start

    def _device(self, device_type: str) -> Device:
        """The alpyca device the settings name for ``device_type`` (address and number):
        nothing is sent to any other device."""
        from alpaca.device import Device

        devices = self.stack.settings.devices
        address = getattr(devices, f"{device_type}_address")
        if address is None:
            raise RuntimeError(f"the settings name no {device_type} address")
        number = getattr(devices, f"{device_type}_number")
        return Device(address, device_type, number, "http")

    def _action(self, device_type: str, name: str, parameters: str) -> None:
        device = self._device(device_type)
        device.Connected = True
        device.Action(name, parameters)

    # -- recovery -----------------------------------------------------------------------

    def recovered(self, fault: Fault) -> bool:
        """True when what the fault hit works again (see the module docstring)."""
        if fault.kind == "kill":
            child = self._child(fault.target)
            if child.process is None or child.process.poll() is not None:
                return False
            if fault.target.startswith("worker-"):
                return self._ready_count(fault.target) > self._ready_before[id(fault)]
            return True
        if fault.kind == "redis":
            redis = self.stack.redis
            return redis is not None and ping(redis.port)
        if fault.kind == "db_lock":
            return self._database_writable()
        if fault.kind == "db_stop":
            return self._postgres_writable() and self._children_running()
        return self._device_answers(fault.target)

    def _database_writable(self) -> bool:
        url = self.stack.settings.sqlalchemy_url.removeprefix("sqlite:///")
        try:
            with sqlite3.connect(url, timeout=0.5, isolation_level=None) as db:
                db.execute("BEGIN IMMEDIATE")
                db.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False

    def _postgres_writable(self) -> bool:
        # A connection of its own (no pool), and a write that is rolled back.
        engine = create_engine(self.stack.settings.sqlalchemy_url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                connection.execute(text("CREATE TEMPORARY TABLE chaos_probe (n integer)"))
                connection.rollback()
            return True
        except OperationalError:
            return False  # not answering yet is what is being timed
        finally:
            engine.dispose()

    def _children_running(self) -> bool:
        # Whatever the outage took down has been started again.
        return all(c.process is not None and c.process.poll() is None for c in self.stack.children)

    def _device_answers(self, device_type: str) -> bool:
        device = self._device(device_type)
        try:
            return bool(device.Connected)
        except FOREIGN_ERRORS:
            return False  # not answering yet is what is being timed

    def _child(self, name: str) -> Child:
        for child in self.stack.children:
            if child.name == name:
                return child
        raise RuntimeError(f"the stack has no child {name!r}")

    def _ready_count(self, name: str) -> int:
        path = self.stack.log_path(name)
        return path.read_bytes().count(b"ready.") if path.exists() else 0


def _wait_quietly(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    process.wait(timeout_s)
    if process.stdout is not None:
        process.stdout.close()
