"""What a chaos night is judged on while it runs: the dome, and the processes.

A :class:`Watch` thread samples, every ``interval_s``: the dome's shutter, the safety
monitor, whether a telescope worker process is alive, and the Sun's altitude at the
observatory's clock. Seconds with the shutter not Closed while unsafe, past dawn or
without a telescope worker are added up once such a spell has lasted longer than its
bound (the time the safety supervisor is allowed to take to close). It also keeps the
largest resident memory of each child of the stack (with its own children) and every
process id it saw, so that survivors can be looked for after the stack stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import psutil

from observatory.clock import utc_now
from observatory.devices.dome import DomeAdapter, ShutterState
from observatory.devices.safety import SafetyMonitorAdapter
from observatory.ephemeris import sun_altitude_deg
from observatory.errors import DeviceError
from observatory.stack import Stack

log = logging.getLogger(__name__)

CONDITIONS = ("unsafe", "past_dawn", "no_telescope_worker")
MEMORY_EVERY_S = 5.0


@dataclass
class WatchResult:
    # Seconds the shutter was open beyond each condition's bound.
    open_beyond_bound_s: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(CONDITIONS, 0.0)
    )
    open_s: float = 0.0
    samples: int = 0
    unread_samples: int = 0
    max_rss_mb: dict[str, float] = field(default_factory=dict)
    # (pid, start time) of every process seen: a pid alone may be reused.
    pids: set[tuple[int, float]] = field(default_factory=set)


class Watch(threading.Thread):
    """Samples the stack ``stack`` until :meth:`finish` (see the module docstring).
    ``bounds_s`` maps each of :data:`CONDITIONS` to the seconds a spell may last."""

    def __init__(self, stack: Stack, bounds_s: dict[str, float], interval_s: float = 0.5):
        super().__init__(name="chaos-watch", daemon=True)
        self.stack = stack
        self.bounds_s = bounds_s
        self.interval_s = interval_s
        self.result = WatchResult()
        self._finished = threading.Event()
        self._since: dict[str, float | None] = dict.fromkeys(CONDITIONS)
        settings = stack.settings
        # Short device timeouts: a sample that cannot be read is counted, not waited for.
        devices = settings.devices.model_copy(update={"retries": 0, "connect_timeout_s": 2.0})
        self._dome = DomeAdapter(devices)
        self._safety = SafetyMonitorAdapter(devices)

    def finish(self) -> WatchResult:
        self._finished.set()
        self.join(30)
        return self.result

    def run(self) -> None:
        last = time.monotonic()
        last_memory = 0.0
        while not self._finished.wait(self.interval_s):
            now = time.monotonic()
            self._sample(now, now - last)
            last = now
            if now - last_memory >= MEMORY_EVERY_S:
                self._memory()
                last_memory = now

    def _sample(self, now: float, dt_s: float) -> None:
        self.result.samples += 1
        try:
            is_open = self._dome.status().shutter is not ShutterState.CLOSED
            safe = self._safety.is_safe()
        except DeviceError as error:
            # The devices may be under a chaos fault themselves; an unread sample adds
            # nothing either way and is counted.
            self.result.unread_samples += 1
            log.info("chaos watch: devices not read: %s", error)
            return
        settings = self.stack.settings
        site = settings.site
        sun_deg = sun_altitude_deg(utc_now(settings), site.latitude_deg, site.longitude_deg)
        worker = next((c for c in self.stack.children if c.name == "worker-telescope"), None)
        held = {
            "unsafe": not safe,
            "past_dawn": sun_deg > settings.supervisor.dawn_sun_altitude_deg,
            "no_telescope_worker": worker is None
            or worker.process is None
            or worker.process.poll() is not None,
        }
        if is_open:
            self.result.open_s += dt_s
        for condition, holds in held.items():
            if not holds:
                self._since[condition] = None
                continue
            since = self._since[condition]
            if since is None:
                self._since[condition] = since = now
            if is_open and now - since > self.bounds_s[condition]:
                self.result.open_beyond_bound_s[condition] += dt_s

    def _memory(self) -> None:
        for child in self.stack.children:
            if child.process is None or child.process.poll() is not None:
                continue
            rss_mb = tree_rss_mb(child.process.pid, self.result.pids)
            if rss_mb is not None:
                best = max(self.result.max_rss_mb.get(child.name, 0.0), rss_mb)
                self.result.max_rss_mb[child.name] = round(best, 1)
        redis = self.stack.redis
        if redis is not None and redis.process is not None and redis.process.poll() is None:
            rss_mb = tree_rss_mb(redis.process.pid, self.result.pids)
            if rss_mb is not None:
                best = max(self.result.max_rss_mb.get("redis", 0.0), rss_mb)
                self.result.max_rss_mb["redis"] = round(best, 1)


def tree_rss_mb(pid: int, seen: set[tuple[int, float]]) -> float | None:
    """Resident memory of ``pid`` and its descendants, MiB (None when it is gone); adds
    every pid of the tree to ``seen``."""
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return None
    total = 0
    for process in tree:
        try:
            total += process.memory_info().rss
            seen.add((process.pid, process.create_time()))
        except psutil.NoSuchProcess:
            continue
    return total / 2**20


def survivors(pids: set[tuple[int, float]]) -> list[str]:
    """Those of ``pids`` (pid, start time) still running (zombies aside), as ``pid
    command`` lines."""
    alive = []
    for pid, started in sorted(pids):
        try:
            process = psutil.Process(pid)
            if process.create_time() == started and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{pid} {' '.join(process.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            continue
    return alive
