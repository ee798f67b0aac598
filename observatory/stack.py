"""The whole stack as child processes of one command (``observatory up``).

Starts, in order: the embedded Redis (when no broker is configured), the database
migrations, the Alpaca simulator (when enabled), the safety supervisor (when enabled),
the file server (when fileserver.public_url is set), one Celery worker per queue, Celery
beat and the reconciler. Children get the parent's settings through ``OBSERVATORY_*``
variables. A worker that dies is restarted; Ctrl-C or SIGTERM stops everything in reverse
order.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from observatory.children import ends_with_parent
from observatory.db.migrate import upgrade
from observatory.embedded_redis import EmbeddedRedis
from observatory.errors import ConfigurationError
from observatory.fileserver.server import file_server_command
from observatory.logfiles import rotate_if_full
from observatory.notify import NotificationFailed, email_admins
from observatory.preflight import check_configuration
from observatory.settings import Settings
from observatory.simulator.address import check_device_addresses, check_simulator_address

log = logging.getLogger(__name__)

# SIGTERM to every child at once, SIGKILL to what is left after this; the whole stop,
# Redis included, stays within 10 s on a busy machine too (6 s measured 10.1 s there: a
# worker whose broker is gone never ends its warm shutdown, so it is always killed, and
# an order it ran is redelivered and resumed, acks_late, whatever this wait).
STOP_TIMEOUT_S = 4.0
REDIS_STOP_TIMEOUT_S = 2.0
# Deaths counted over this window decide the restart delay and the report to the admins.
DEATH_WINDOW_S = 600.0
MAX_RESTART_DELAY_S = 60.0
REPORT_AFTER_DEATHS = 3


@dataclass
class Child:
    """One supervised child process."""

    name: str
    command: list[str]
    restart: bool = True
    process: subprocess.Popen[bytes] | None = None
    # Monotonic times of its deaths in the last DEATH_WINDOW_S, and when it may start again.
    deaths: list[float] = field(default_factory=list)
    restart_at: float | None = None
    reported: bool = False


def restart_delay_s(deaths: int) -> float:
    """Seconds to wait before restarting a child that died ``deaths`` times in the window:
    none the first time, then 1, 2, 4 ... up to MAX_RESTART_DELAY_S."""
    if deaths <= 1:
        return 0.0
    return min(2.0 ** (deaths - 2), MAX_RESTART_DELAY_S)


def worker_command(settings: Settings, queue: str, concurrency: int | None = None) -> list[str]:
    """The command line of a Celery worker serving one queue."""
    limit = getattr(settings.time_limits, f"{queue}_s")
    command = [
        sys.executable, "-m", "celery", "-A", "workers.app", "worker",
        "-Q", queue, "-n", f"{queue}@%h", "--events",
        "--loglevel", settings.log_level,
        "--time-limit", str(int(limit) + 60), "--soft-time-limit", str(int(limit)),
    ]  # fmt: skip
    if concurrency is not None:
        command += ["--concurrency", str(concurrency)]
    return command


class Stack:
    """The observatory's processes on this machine."""

    def __init__(
        self,
        settings: Settings,
        *,
        processor_concurrency: int | None = None,
        with_beat: bool = True,
        with_flower: bool = False,
        flower_no_auth: bool = False,
    ) -> None:
        clock = settings.clock
        if clock.start_utc is not None and clock.epoch_unix_s is None:
            # A simulated clock without its epoch reads start_utc when the stack starts
            # (each process alone would stand still at start_utc).
            clock = clock.model_copy(update={"epoch_unix_s": time.time()})
            settings = settings.model_copy(update={"clock": clock})
        self.settings = settings
        self.redis: EmbeddedRedis | None = None
        self.children: list[Child] = []
        self.env = dict(os.environ)
        self.processor_concurrency = processor_concurrency
        self.with_beat = with_beat
        self.with_flower = with_flower
        # Flower without credentials, on loopback only (`observatory flower --no-auth`).
        self.flower_no_auth = flower_no_auth

    def child_env(self) -> dict[str, str]:
        """What children must see so that their settings equal ours."""
        s = self.settings
        env = {
            "OBSERVATORY_BROKER_URL": s.effective_broker_url,
            "OBSERVATORY_DATABASE_URL": s.sqlalchemy_url,
            "OBSERVATORY_DATA_DIR": str(s.data_dir),
        }
        # Every device setting (addresses, timeouts): the workers and the supervisor act on
        # the devices exactly as this process was told to.
        for key, value in s.devices.model_dump().items():
            if value is not None:  # None is every child's default too
                env[f"OBSERVATORY_DEVICES__{key.upper()}"] = str(value)
        # Settings a caller may have changed in code rather than in the environment.
        env["OBSERVATORY_ROUTINE_PLAN"] = str(s.routine_plan)
        env["OBSERVATORY_RECONCILE_AFTER_S"] = repr(s.reconcile_after_s)
        if s.visibility_timeout_s is not None:
            env["OBSERVATORY_VISIBILITY_TIMEOUT_S"] = repr(s.visibility_timeout_s)
        if s.clock.start_utc is not None:
            # A simulated night: every child reads the same civil time.
            env["OBSERVATORY_CLOCK__START_UTC"] = s.clock.start_utc.isoformat()
            env["OBSERVATORY_CLOCK__EPOCH_UNIX_S"] = repr(s.clock.epoch_unix_s)
            env["OBSERVATORY_CLOCK__TIME_SCALE"] = repr(s.clock.time_scale)
        return env

    def start(self) -> None:
        """Check every configuration file, then start the children (see the module
        docstring). Raises ConfigurationError, before anything runs, for a bad file."""
        s = self.settings
        check_configuration(s, with_beat=self.with_beat)
        if s.simulator.enabled:
            # Our devices must reach our simulator, and nothing else on this machine.
            check_device_addresses(s)
            check_simulator_address(s)
        s.data_dir.mkdir(parents=True, exist_ok=True)
        if s.is_embedded_broker:
            self.redis = EmbeddedRedis(s.data_dir, s.embedded_redis_port)
            self.redis.start()
            log.info("embedded Redis on %s", self.redis.url)
        upgrade(s.sqlalchemy_url)
        self.env.update(self.child_env())
        if s.simulator.enabled:
            command = [
                sys.executable, "-m", "observatory.simulator", "--host", s.simulator.host,
                "--port", str(s.simulator.port), "--config", str(s.simulator.config),
            ]  # fmt: skip
            if s.clock.start_utc is not None:
                # The devices keep the observatory's simulated clock.
                command += [
                    "--time-scale", repr(s.clock.time_scale),
                    "--start-utc", s.clock.start_utc.isoformat(),
                ]  # fmt: skip
                if s.clock.epoch_unix_s is not None:
                    command += ["--clock-epoch", repr(s.clock.epoch_unix_s)]
            elif s.simulator.time_scale is not None:
                command += ["--time-scale", str(s.simulator.time_scale)]
            self._spawn(Child("simulator", command))
            # The supervisor and the workers talk to the devices at once; let them answer.
            self._wait_for_simulator()
        if s.supervisor.enabled:
            # Outside Celery: it keeps the dome safe when the broker or the workers are down.
            self._spawn(Child("supervisor", [sys.executable, "-m", "observatory.supervisor"]))
        if s.fileserver.public_url:
            # Other hosts fetch this host's batches and products through it.
            command = file_server_command(s, s.fileserver.host, s.fileserver.port)
            self._spawn(Child("fileserver", command))
        self._spawn(Child("worker-dome", worker_command(s, "dome", 1)))
        self._spawn(Child("worker-telescope", worker_command(s, "telescope", 1)))
        self._spawn(
            Child("worker-processor", worker_command(s, "processor", self.processor_concurrency))
        )
        if self.with_beat:
            schedule = s.data_dir / "celerybeat-schedule"
            self._spawn(Child("beat", [
                sys.executable, "-m", "celery", "-A", "workers.app", "beat",
                "--loglevel", s.log_level, "-s", str(schedule),
            ]))  # fmt: skip
        self._spawn(Child("reconciler", [sys.executable, "-m", "workers.reconciler"]))
        if self.with_flower:
            command = [sys.executable, "-m", "observatory.cli.main", "flower"]
            if self.flower_no_auth:
                command.append("--no-auth")
            self._spawn(Child("flower", command))

    def _wait_for_simulator(self, timeout_s: float = 60.0) -> None:
        """Return once the simulator answers HTTP; raise RuntimeError (naming its log) when
        it exits or stays silent for ``timeout_s``."""
        url = f"http://{self.settings.simulator.host}:{self.settings.simulator.port}"
        child = self.children[-1]
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{url}/management/apiversions", timeout=1.0):
                    return
            except OSError as error:
                exited = child.process is not None and child.process.poll() is not None
                if exited or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the simulator at {url} did not answer ({error}); see "
                        f"{self.log_path(child.name)}"
                    ) from error
            time.sleep(0.1)

    def _spawn(self, child: Child) -> None:
        log_path = self.log_path(child.name)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as out:
            # Its own process group, so that a stop reaches a worker's pool as well; the
            # parent-death signal ends it with the stack.
            child.process = subprocess.Popen(
                child.command,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=ends_with_parent(),
            )
        child.restart_at = None
        if child not in self.children:
            self.children.append(child)
        log.info("started %s (pid %d)", child.name, child.process.pid)

    def check(self) -> None:
        """Restart what died: the embedded Redis (from its AOF) and every child, each with
        the delay of :func:`restart_delay_s`; the admins are emailed once when one died
        REPORT_AFTER_DEATHS times within DEATH_WINDOW_S. Never raises for a dead child:
        one failing component must not take the others (the safety supervisor above all)
        down."""
        now = time.monotonic()
        self.rotate_logs()
        if self.redis is not None and not self.redis.running:
            self._restart_redis()
        for child in self.children:
            if child.process is None or child.process.poll() is None:
                continue
            if child.restart_at is None:
                self._record_death(child, now)
            if child.restart and now >= (child.restart_at or now):
                self._spawn(child)

    def rotate_logs(self) -> None:
        """Rotate each log of the stack that reached ``logs.max_mib`` (the children's and
        the embedded Redis's), keeping ``logs.keep`` generations. A log that cannot be
        rotated (a full disk, a folder made read-only) is logged as an error and tried
        again at the next check: supervision goes on."""
        config = self.settings.logs
        paths = [self.log_path(child.name) for child in self.children]
        if self.redis is not None:
            paths.append(self.redis.data_dir / "redis.log")
        for path in paths:
            try:
                if rotate_if_full(path, int(config.max_mib * 1024 * 1024), config.keep):
                    log.info("rotated %s (%g MiB reached)", path, config.max_mib)
            except OSError as error:
                log.error("cannot rotate %s: %s", path, error)

    def _record_death(self, child: Child, now: float) -> None:
        assert child.process is not None
        code = child.process.returncode
        child.deaths = [t for t in child.deaths if now - t < DEATH_WINDOW_S] + [now]
        delay_s = restart_delay_s(len(child.deaths))
        child.restart_at = now + delay_s
        log.error(
            "%s exited with %s (%d times in %.0f s); %s; see %s",
            child.name, code, len(child.deaths), DEATH_WINDOW_S,
            f"restarting in {delay_s:.0f} s" if child.restart else "not restarted",
            self.log_path(child.name),
        )  # fmt: skip
        if len(child.deaths) >= REPORT_AFTER_DEATHS and not child.reported:
            child.reported = True
            self._report(
                f"{child.name} keeps dying",
                f"{child.name} exited {len(child.deaths)} times in {DEATH_WINDOW_S:.0f} s "
                f"(last exit code {code}); it is restarted with a growing delay.\n"
                f"Its log: {self.log_path(child.name)}",
            )
        elif len(child.deaths) == 1:
            child.reported = False

    def _restart_redis(self) -> None:
        assert self.redis is not None
        log.error("the embedded Redis died; restarting it from its AOF")
        try:
            self.redis.start()
        except ConfigurationError as error:
            # Retried on the next check; the workers keep trying to reconnect meanwhile.
            log.error("the embedded Redis did not start again: %s", error)

    def _report(self, subject: str, body: str) -> None:
        """Email the admins from a thread: SMTP retries must not hold up the supervision."""

        def send() -> None:
            try:
                email_admins(self.settings, subject, body)
            except NotificationFailed as error:
                log.error("%s; the report was: %s", error, subject)

        threading.Thread(target=send, name="stack-report", daemon=True).start()

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stop every child: SIGTERM to all at once, SIGKILL to those still running after
        ``timeout_s``, then the embedded Redis (its AOF written)."""
        running = [
            child.process
            for child in self.children
            if child.process is not None and child.process.poll() is None
        ]
        for process in running:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for process in running:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("pid %d did not stop in %.0f s; killing it", process.pid, timeout_s)
                _signal_group(process, signal.SIGKILL)
                process.wait()
        for process in running:
            # A worker's pool processes, left in its group by a killed worker.
            _signal_group(process, signal.SIGKILL)
        if self.redis is not None:
            self.redis.stop(REDIS_STOP_TIMEOUT_S)

    def run_forever(self) -> None:
        """Supervise until SIGINT or SIGTERM, then stop cleanly."""
        stopping = False

        def request_stop(signum: int, _frame: object) -> None:
            nonlocal stopping
            stopping = True
            log.info("received %s; stopping", signal.Signals(signum).name)

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        try:
            while not stopping:
                self.check()
                time.sleep(0.5)
        finally:
            self.stop()

    def log_path(self, name: str) -> Path:
        """Where the child called ``name`` writes its stdout and stderr."""
        return self.settings.data_dir / "logs" / f"{name}.log"


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    """Send ``signum`` to the child's process group; a group already gone is fine."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)
