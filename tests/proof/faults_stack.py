"""A private, disposable stack for the fault tests, and what they act on it with.

The fault tests kill workers, stop Redis and the SMTP server, and jam the simulated dome,
so they never touch the integration tests' shared stack: each test module gets its own
:class:`FaultStack` (embedded Redis with AOF, SQLite, the simulator, one worker per queue,
the reconciler, and the safety supervisor when the module asks for it), with its own data
folder, ports and SMTP server (:func:`running_stack`, tuned by a dict of ``OBSERVATORY_*``
overrides such as ``{"OBSERVATORY_SUPERVISOR__ENABLED": "true"}``).

Messages are published from this process through a Celery app of the stack's own
settings (the project's ``workers.app`` is bound to whichever broker the process's
settings named first, and may belong to another stack of the same test session).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from observatory.db.models import DeviceEvent, StepRun, WorkOrder
from observatory.db.session import dispose_engines, session_scope
from observatory.devices.dome import DomeAdapter, ShutterState
from observatory.intake import Receipt, submit
from observatory.orders.states import FINAL_STATES
from observatory.settings import Settings
from observatory.simulator.address import DEVICE_ROLES
from observatory.stack import Child, Stack, worker_command
from observatory.supervisor.permit import opening_allowed
from tests.helpers import free_port, wait_for
from tests.smtp import Mailbox
from workers.publish import app_for, publisher

ADMIN = "admin@observatory.test"
QUEUES = ("dome", "telescope", "processor")
# Simulated seconds per wall second: the dome's 8 s shutter takes 0.4 s, a 40 s exposure 2 s.
TIME_SCALE = 20.0


class RestartableSmtp:
    """A real SMTP server (aiosmtpd) on one loopback port that a test can stop and start
    again; what it receives stays in ``mailbox`` across restarts."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.mailbox = Mailbox()
        self._controller: Any = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        if self._controller is None:
            self._controller = Controller(self.mailbox, hostname=self.host, port=self.port)
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[Any]:
        return self.mailbox.messages


def stack_env(data_dir: Path, smtp: RestartableSmtp, overrides: dict[str, str]) -> dict[str, str]:
    """The ``OBSERVATORY_*`` variables of a private stack under ``data_dir``."""
    simulator_port = free_port()
    env = {
        "OBSERVATORY_CONFIG": os.devnull,
        "OBSERVATORY_DATA_DIR": str(data_dir),
        "OBSERVATORY_EMBEDDED_REDIS_PORT": str(free_port()),
        "OBSERVATORY_DATABASE_URL": f"sqlite:///{data_dir / 'observatory.db'}",
        "OBSERVATORY_SIMULATOR__PORT": str(simulator_port),
        "OBSERVATORY_SIMULATOR__TIME_SCALE": repr(TIME_SCALE),
        "OBSERVATORY_ADMIN_EMAILS": ADMIN,
        "OBSERVATORY_SMTP__HOST": smtp.host,
        "OBSERVATORY_SMTP__PORT": str(smtp.port),
        "OBSERVATORY_SMTP__TIMEOUT_S": "2",
        "OBSERVATORY_SMTP__ATTEMPTS": "4",
        # A killed worker's message comes back within the test.
        "OBSERVATORY_VISIBILITY_TIMEOUT_S": "10",
        "OBSERVATORY_RECONCILE_AFTER_S": "1",
        "OBSERVATORY_DEVICES__SHUTTER_TIMEOUT_S": "30",
        "OBSERVATORY_DEVICES__RETRIES": "2",
        "OBSERVATORY_DEVICES__RETRY_BACKOFF_S": "0.2",
        "OBSERVATORY_DEVICES__POLL_INTERVAL_S": "0.05",
        "OBSERVATORY_TELESCOPE__HEARTBEAT_INTERVAL_S": "0.5",
        # Whatever the hour of the test run, it is night for the telescope and supervisor.
        "OBSERVATORY_TELESCOPE__SUN_ALTITUDE_LIMIT_DEG": "90",
        "OBSERVATORY_SUPERVISOR__DAWN_SUN_ALTITUDE_DEG": "90",
        "OBSERVATORY_SUPERVISOR__ENABLED": "false",
        "OBSERVATORY_SUPERVISOR__POLL_INTERVAL_S": "0.2",
        "OBSERVATORY_SUPERVISOR__HOLD_OFF_S": "0.5",
        "OBSERVATORY_SUPERVISOR__HEARTBEAT_TIMEOUT_S": "2",
        "OBSERVATORY_SUPERVISOR__CLOSE_ATTEMPTS": "2",
        "OBSERVATORY_PROCESSOR__SOLVE_TIMEOUT_S": "60",
    }
    for role in DEVICE_ROLES:
        env[f"OBSERVATORY_DEVICES__{role.upper()}_ADDRESS"] = f"127.0.0.1:{simulator_port}"
    env.update(overrides)
    return env


def settings_from_env(env: dict[str, str]) -> Settings:
    """Settings equal to what the stack's children read from ``env`` (given as init
    values, which win over this process's own environment). A list or table is given as
    JSON text, as the children's environment source reads it."""
    values: dict[str, Any] = {}
    for key, value in env.items():
        if key == "OBSERVATORY_CONFIG":
            continue
        path = key.removeprefix("OBSERVATORY_").lower().split("__")
        target = values
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = json.loads(value) if value.startswith(("[", "{")) else value
    return Settings.model_validate(values)


def order(request: str, **fields: Any) -> dict[str, Any]:
    """A valid work order document with a fresh id."""
    return {
        "id": f"f-{uuid.uuid4().hex[:10]}",
        "request": request,
        "datetime": dt.datetime.now(dt.UTC).isoformat(),
        "user": "fault-tests",
        **fields,
    }


@dataclass
class Outcome:
    pk: int
    state: str
    reason: str | None
    attempts: int


class FaultStack:
    """A running private stack (see the module docstring) and the levers the tests pull."""

    def __init__(self, data_dir: Path, smtp: RestartableSmtp, overrides: dict[str, str]):
        self.smtp = smtp
        self.env = stack_env(data_dir, smtp, overrides)
        self.settings = settings_from_env(self.env)
        self.stack = Stack(self.settings, processor_concurrency=1, with_beat=False)
        # The children see exactly this stack's variables, none of the test session's.
        base = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVATORY_")}
        self.stack.env = base | self.env
        self.app = app_for(self.settings, "fault-tests")

    # -- life ---------------------------------------------------------------------------

    def start(self) -> None:
        self.smtp.start()
        self.stack.start()
        for queue in QUEUES:
            self.wait_ready(f"worker-{queue}", 1)

    def stop(self) -> None:
        try:
            self.stack.stop()
        finally:
            self.app.close()
            self.smtp.stop()
            dispose_engines(self.settings.sqlalchemy_url)

    def log(self, name: str) -> str:
        path = self.stack.log_path(name)
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_ready(self, name: str, times: int, timeout_s: float = 90) -> None:
        """Wait until worker ``name`` has logged "ready." ``times`` times (restarts add)."""
        wait_for(
            lambda: self.log(name).count("ready.") >= times,
            timeout_s,
            message=f"{name} to be ready (#{times})",
        )

    def child(self, name: str) -> Child:
        return next(c for c in self.stack.children if c.name == name)

    def kill(self, name: str) -> int:
        """SIGKILL the child ``name`` and its process group; returns its pid."""
        process = self.child(name).process
        assert process is not None and process.poll() is None, f"{name} is not running"
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return process.pid

    def restart_dead(self, name: str) -> None:
        """Let the stack restart its dead children, and wait for worker ``name``. The
        stack is checked until then: a child that died before is restarted after a delay."""
        before = self.log(name).count("ready.")

        def restarted() -> bool:
            self.stack.check()
            return self.log(name).count("ready.") >= before + 1

        wait_for(restarted, 90, 0.25, message=f"{name} to be restarted and ready")

    def add_worker(self, name: str, queue: str) -> Child:
        """Start one more worker process (``-c 1``) on ``queue`` under its own node name."""
        command = worker_command(self.settings, queue, 1)
        command[command.index("-n") + 1] = f"{name}@%h"
        child = Child(name, command)
        self.stack._spawn(child)
        self.wait_ready(name, 1)
        return child

    # -- orders -------------------------------------------------------------------------

    def publish(self, *, work_order_pk: int, task_name: str, queue: str, priority: float) -> str:
        """The intake's Publisher, as ``workers.publish.publish`` but on this stack's broker."""
        return publisher(self.app)(
            work_order_pk=work_order_pk, task_name=task_name, queue=queue, priority=priority
        )

    def submit(self, data: dict[str, Any], published: bool = True) -> Receipt:
        receipt = submit(self.settings, data, self.publish)
        assert receipt.created and receipt.published is published, receipt
        return receipt

    def republish(self, pk: int) -> str:
        """Send the stored order's task once more (a duplicate message)."""
        with session_scope(self.settings.sqlalchemy_url) as session:
            row = session.get_one(WorkOrder, pk)
            task_name, queue, priority = row.task_name, row.queue, row.priority
        assert task_name and queue and priority is not None
        return self.publish(work_order_pk=pk, task_name=task_name, queue=queue, priority=priority)

    def state(self, pk: int) -> Outcome:
        with session_scope(self.settings.sqlalchemy_url) as session:
            row = session.get_one(WorkOrder, pk)
            return Outcome(pk, str(row.state), row.state_reason, row.attempts)

    def outcome(self, pk: int, timeout_s: float = 60) -> Outcome:
        """Wait for the order to reach a final state and return it."""

        def ended() -> Outcome | None:
            now = self.state(pk)
            return now if now.state in FINAL_STATES else None

        result = wait_for(ended, timeout_s, message=f"work order {pk} to end")
        assert result is not None
        return result

    def steps(self, pk: int) -> list[StepRun]:
        with session_scope(self.settings.sqlalchemy_url) as session:
            query = select(StepRun).where(StepRun.work_order_pk == pk).order_by(StepRun.pk)
            runs = list(session.scalars(query))
            session.expunge_all()
            return runs

    def wait_for_permit(self, timeout_s: float = 30) -> None:
        """Wait until the supervisor has published a verdict allowing the dome to open.

        Right after the stack starts, the supervisor's first polls refuse (conditions not
        yet safe for the whole hold-off); an opener asked then is rightly refused."""
        wait_for(lambda: opening_allowed(self.settings)[0], timeout_s, 0.1, "the open permit")

    def supervisor_events(self) -> list[tuple[str, dict[str, Any]]]:
        with session_scope(self.settings.sqlalchemy_url) as session:
            query = select(DeviceEvent).where(DeviceEvent.device == "supervisor")
            rows = session.scalars(query.order_by(DeviceEvent.pk))
            return [(row.event, dict(row.details or {})) for row in rows]

    # -- devices ------------------------------------------------------------------------

    def dome(self) -> DomeAdapter:
        return DomeAdapter(self.settings.devices)

    def shutter(self) -> ShutterState:
        return self.dome().status().shutter

    def fault(self, device_role: str, spec: dict[str, Any]) -> None:
        """Inject (or clear) a simulator fault on the dome, camera or telescope."""
        import alpaca.camera
        import alpaca.device
        import alpaca.dome
        import alpaca.telescope

        devices = self.settings.devices
        device: alpaca.device.Device
        if device_role == "dome":
            device = alpaca.dome.Dome(devices.dome_address, 0)
        elif device_role == "camera":
            device = alpaca.camera.Camera(devices.camera_address, 0)
        else:
            device = alpaca.telescope.Telescope(devices.telescope_address, 0)
        device.Connected = True  # Action answers "not connected" before anyone connected
        device.Action("simulator:fault", json.dumps(spec))


@contextmanager
def running_stack(data_dir: Path, overrides: dict[str, str]) -> Iterator[FaultStack]:
    """A private stack under ``data_dir`` with ``overrides`` of its ``OBSERVATORY_*``
    variables, started, and stopped when the block ends. A test module wraps it in its
    own module-scoped fixture."""
    running = FaultStack(data_dir, RestartableSmtp(), overrides)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def zenith(stack: FaultStack) -> dict[str, float]:
    """RA/Dec (deg) of the zenith now, from the simulated mount's sidereal time."""
    from alpaca.telescope import Telescope

    mount = Telescope(stack.settings.devices.telescope_address, 0)
    mount.Connected = True
    ra_deg = float(mount.SiderealTime) * 15.0 % 360.0
    return {"ra": ra_deg, "dec": stack.settings.site.latitude_deg}
