"""Processor benchmark: one night's batch calibrated by one processor worker process,
then by two, on the same private Redis and database, in one run.

The night is taken once from the bundled simulator (bias, darks, flats in two filters
and lights of a real star field in two filters, binned 2 x 2 so plate solving is
reliable) and written as a telescope batch under a distinct name for each measurement.
One worker and two are measured side by side: each on a private stack of its own
(broker, database, data folder) with fresh workers (``celery -A workers.app worker -Q
processor -c 1``), each warmed by one untimed copy, then copies calibrated in pairs, one
on each side, in alternating order, so that the machine's drift weighs on both alike.
A ``calibrate_file_batch`` order is timed submit -> order finished; each step's span
comes from ``step_runs`` (a chord step is recorded when its last unit ends, so a step's
span is its end minus the previous step's end; a follower step, whose units run behind
its step's unit by unit, is recorded right after it, so its work is in that step's span).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery import Celery
from sqlalchemy import select

from observatory.db.migrate import upgrade
from observatory.db.models import ImageType, StepRun, WorkOrder
from observatory.db.session import dispose_engines, read_scope
from observatory.embedded_redis import EmbeddedRedis
from observatory.orders.states import FINAL_STATES
from observatory.processor.driver import FOLLOWERS
from observatory.settings import Settings
from observatory.simulator.frames import Frame, SimulatedRig, wait_for, write_batch
from observatory.simulator.server import start_simulator_process
from workers.bench_overhead import free_port
from workers.publish import app_for, publisher

# The night: moderate, so one measurement takes about a minute on two cores.
BIAS_FRAMES = 5
DARK_FRAMES = 5
FLAT_FRAMES = 5
FILTERS = ("R", "G")
LIGHTS_PER_FILTER = 4
LIGHT_S = 10.0
FLAT_S = 1.0
# Simulated seconds per wall second: a 10 s light takes a sixth of a second.
TIME_SCALE = 60.0
ORDER_TIMEOUT_S = 900.0


def take_night(lights_per_filter: int = LIGHTS_PER_FILTER) -> list[Frame]:
    """Bias, darks, flats per filter and lights per filter from a fresh simulator (over
    Alpaca HTTP with alpyca), binned 2 x 2; the lights point one hour east of the
    meridian at +20 deg, a field the Tycho-2 index files cover."""
    with start_simulator_process(time_scale=TIME_SCALE) as simulator:
        rig = SimulatedRig(simulator)
        frames = [rig.expose(ImageType.BIAS, 0.0) for _ in range(BIAS_FRAMES)]
        frames += [rig.expose(ImageType.DARK, LIGHT_S) for _ in range(DARK_FRAMES)]
        rig.panel_on(0.15)
        for name in FILTERS:
            rig.set_filter(name)
            frames += [rig.expose(ImageType.FLAT, FLAT_S, name) for _ in range(FLAT_FRAMES)]
        rig.panel_off()
        rig.point(1.0, 20.0)
        for name in FILTERS:
            rig.set_filter(name)
            frames += [rig.expose(ImageType.LIGHT, LIGHT_S, name) for _ in range(lights_per_filter)]
    return frames


@dataclass
class SharedServices:
    """What every processor host shares: the broker and the database, plus a Celery app
    configured for them (to publish orders and ping workers)."""

    broker_url: str
    database_url: str
    settings: Settings
    app: Celery
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def publish(self, *, work_order_pk: int, task_name: str, queue: str, priority: float) -> str:
        """The intake's publisher, on this broker (not the one ``workers.app`` read)."""
        return publisher(self.app)(
            work_order_pk=work_order_pk, task_name=task_name, queue=queue, priority=priority
        )

    def start_worker(
        self, name: str, env: dict[str, str], log_file: Path, prefix: Sequence[str] = ()
    ) -> subprocess.Popen[bytes]:
        """One processor worker process (``-c 1``) named ``name@<host>``, with the shared
        broker and database plus ``env``; ``prefix`` wraps the command (e.g. unshare).
        Returns once it answers a ping."""
        full_env = {**os.environ, "OBSERVATORY_BROKER_URL": self.broker_url,
                    "OBSERVATORY_DATABASE_URL": self.database_url,
                    "OBSERVATORY_LOG_LEVEL": "WARNING", **env}  # fmt: skip
        command = [*prefix, sys.executable, "-m", "celery", "-A", "workers.app", "worker",
                   "-Q", "processor", "-c", "1", "-n", f"{name}@%h", "--loglevel", "WARNING",
                   "--without-gossip", "--without-mingle"]  # fmt: skip
        with log_file.open("ab") as log:
            worker = subprocess.Popen(
                command, env=full_env, stdout=subprocess.DEVNULL, stderr=log,
                start_new_session=True,
            )  # fmt: skip
        self.workers.append(worker)
        wait_for(lambda: self._answers(name, worker, log_file), 120, 0.05, f"worker {name} ready")
        return worker

    def _answers(self, name: str, worker: subprocess.Popen[bytes], log_file: Path) -> bool:
        if worker.poll() is not None:
            raise RuntimeError(f"worker {name} exited: {log_file.read_text()[-2000:]}")
        replies = self.app.control.ping(timeout=0.5)
        return any(key.startswith(f"{name}@") for reply in replies for key in reply)

    def stop_workers(self, only: Sequence[subprocess.Popen[bytes]] | None = None) -> None:
        """SIGTERM every worker started here (or ``only`` those) at once (warm shutdown),
        then wait for each; SIGKILL one still running after a minute."""
        stopping = list(self.workers if only is None else only)
        self.workers = [w for w in self.workers if w not in stopping]
        for worker in stopping:
            if worker.poll() is None:
                worker.terminate()
        for worker in stopping:
            try:
                worker.wait(60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(10)


@contextmanager
def shared_services(folder: Path, database_url: str | None = None) -> Iterator[SharedServices]:
    """An embedded Redis on a free port and the database (SQLite under ``folder`` unless
    ``database_url`` is given), migrated; workers started on it are stopped on exit."""
    port = free_port()
    redis_server = EmbeddedRedis(folder, port)
    redis_server.start()
    database_url = database_url or f"sqlite:///{folder / 'observatory.db'}"
    settings = Settings(data_dir=folder, broker_url=redis_server.url, database_url=database_url)
    upgrade(settings.sqlalchemy_url)
    app = app_for(settings, "bench-processor")
    services = SharedServices(redis_server.url, database_url, settings, app)
    try:
        yield services
    finally:
        try:
            services.stop_workers()
        finally:
            app.close()
            redis_server.stop()
            dispose_engines(settings.sqlalchemy_url)


def calibrate(
    services: SharedServices, url: str, user: str = "bench", timeout_s: float = ORDER_TIMEOUT_S
) -> dict[str, Any]:
    """Submit a calibrate_file_batch order for the batch at ``url``, wait for it to end
    and return its figures (:func:`order_figures`, plus ``work_order_pk``). Raises
    TimeoutError when it does not end within ``timeout_s``."""
    from observatory.intake import submit

    order = {"id": f"calibrate-{uuid.uuid4().hex[:10]}", "request": "calibrate_file_batch",
             "user": user, "datetime": dt.datetime.now(dt.UTC).isoformat(), "url": url}  # fmt: skip
    submitted_at = time.time()
    pk = submit(services.settings, order, services.publish).pk

    def ended() -> bool:
        with read_scope(services.database_url) as session:
            return session.get_one(WorkOrder, pk).state in FINAL_STATES

    wait_for(ended, timeout_s, 0.05, f"work order {pk} on {url}")
    return {"work_order_pk": pk, **order_figures(services, pk, submitted_at)}


def order_figures(services: SharedServices, pk: int, submitted_at: float) -> dict[str, Any]:
    """Wall time submit -> finished [s], the order's state and each step's span [s]."""
    with read_scope(services.database_url) as session:
        order = session.get_one(WorkOrder, pk)
        runs = list(
            session.scalars(select(StepRun).where(StepRun.work_order_pk == pk).order_by(StepRun.pk))
        )
        assert order.finished_at is not None
        spans: dict[str, float] = {}
        previous_end = runs[0].started_at if runs else order.finished_at
        for run in runs:
            end = run.ended_at or run.started_at
            spans[run.step] = round((end - previous_end).total_seconds(), 2)
            previous_end = end
        return {
            "state": str(order.state),
            "wall_s": round(order.finished_at.timestamp() - submitted_at, 2),
            "steps_s": spans,
            "step_states": {run.step: str(run.state) for run in runs},
            # transfer and ingest run in the order's task: one unit each.
            "step_units": {run.step: int((run.outputs or {}).get("units", 1)) for run in runs},
        }


def two_worker_bound(one: dict[str, Any], workers: int = 2) -> dict[str, float]:
    """The most ``workers`` workers could gain over the one-worker measurement ``one``:
    the steps of more than one unit (and their followers) shared perfectly, everything
    else (the steps of one unit, each step's dispatch, submit to start) as it was."""
    split = sum(span for step, span in one["steps_s"].items() if one["step_units"][step] > 1)
    serial = one["wall_s"] - split
    return {"serial_s": round(serial, 3), "split_s": round(split, 3),
            "bound": round(one["wall_s"] / (serial + split / workers), 3)}  # fmt: skip


@contextmanager
def worker_set(
    services: SharedServices, folder: Path, workers: int, core_each: bool
) -> Iterator[None]:
    """``workers`` fresh worker processes on ``services``, sharing ``folder`` as their data
    folder; stopped on exit. With ``core_each``, worker ``i`` runs on CPU ``i`` alone
    (``taskset``) with one kernel thread, as on a host of one core of its own; otherwise
    every worker may use every CPU."""
    env = {"OBSERVATORY_DATA_DIR": str(folder), "OBSERVATORY_PROCESSOR__SOLVE_TIMEOUT_S": "120"}
    cpus = sorted(os.sched_getaffinity(0))
    if core_each and workers > len(cpus):
        raise ValueError(f"{workers} workers of a core each need {workers} CPUs, not {len(cpus)}")
    started = []
    try:
        for index in range(workers):
            prefix: list[str] = []
            own_env = dict(env)
            if core_each:
                prefix = ["taskset", "--cpu-list", str(cpus[index])]
                own_env["NUMBA_NUM_THREADS"] = "1"
            name = f"processor{index + 1}"
            started.append(services.start_worker(name, own_env, folder / "workers.log", prefix))
        yield
    finally:
        services.stop_workers(started)


def calibrate_copy(
    services: SharedServices, frames: Sequence[Frame], folder: Path, batch: str
) -> dict[str, Any]:
    """Write a fresh copy of the night as batch ``batch`` under ``folder`` and calibrate
    it on ``services``; its figures (:func:`calibrate`) with its name."""
    batch_folder = folder / "batches" / batch
    write_batch(batch_folder, list(frames))
    return {"batch": batch, **calibrate(services, str(batch_folder))}


def summarise(runs: Sequence[dict[str, Any]], workers: int, core_each: bool) -> dict[str, Any]:
    """The figures of the run of median wall time (the later middle one of an even
    number) and every run's wall (``walls_s``). Raises RuntimeError if one did not
    succeed."""
    for run in runs:
        if run["state"] != "succeeded":
            raise RuntimeError(f"benchmark batch {run['batch']} ended {run['state']}: {run}")
    middle = sorted(runs, key=lambda run: run["wall_s"])[len(runs) // 2]
    return {"workers": workers, "core_each": core_each, **middle,
            "walls_s": [run["wall_s"] for run in runs]}  # fmt: skip


def measure_side_by_side(
    frames: Sequence[Frame], folder: Path, batch: str, core_each: bool = False, repeats: int = 1
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One worker against two, batch for batch: two private stacks (broker, database and
    data folder each), one with one worker and one with two, each warmed by a copy of
    the night it does not time (a night's workers are warm, their compiled kernels and
    index files loaded, after the first batch); then ``repeats`` pairs of copies, one on
    each, the pair's order alternating (one-two, two-one, ...). So a drift of the
    machine's speed over the run (other programs, the CPU's clock) weighs on both alike,
    as it cannot when one side's batches all come before the other's. Returns the
    figures of each side (:func:`summarise`), one worker's first; each run's wall is in
    ``walls_s``, in the order of the pairs."""
    sides = {1: folder / "one-worker", 2: folder / "two-workers"}
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    with (
        shared_services(sides[1]) as one, shared_services(sides[2]) as two,
        worker_set(one, sides[1], 1, core_each), worker_set(two, sides[2], 2, core_each),
    ):  # fmt: skip
        services = {1: one, 2: two}
        for workers in (1, 2):
            calibrate_copy(services[workers], frames, sides[workers], f"{batch}-{workers}-warm")
        for k in range(repeats):
            for workers in (1, 2) if k % 2 == 0 else (2, 1):
                name = f"{batch}-{workers}" + (f"-{k + 1}" if k else "")
                runs[workers].append(
                    calibrate_copy(services[workers], frames, sides[workers], name)
                )
    return summarise(runs[1], 1, core_each), summarise(runs[2], 2, core_each)


# A fixed CPU-bound loop: what one core does, alone or beside another.
_SPIN = (
    "import time\nt = time.perf_counter()\nx = 0\n"
    "for i in range(6_000_000):\n    x += i\nprint(time.perf_counter() - t)"
)


def _spin(cpus: Sequence[int]) -> list[float]:
    """Run the loop once on each of ``cpus`` at the same time; each one's seconds."""
    spinners = [
        subprocess.Popen(
            ["taskset", "--cpu-list", str(cpu), sys.executable, "-c", _SPIN],
            stdout=subprocess.PIPE,
            text=True,
        )
        for cpu in cpus
    ]
    return [float(spinner.communicate()[0]) for spinner in spinners]


def cpu_scaling(pairs: int = 5) -> dict[str, Any]:
    """What this machine's first two CPUs give side by side: a CPU-bound loop alone on the
    first, then on both at once, ``pairs`` times in turn; ``scaling`` is the median of
    twice the time alone over the slower of the two together (2.0: two CPUs do twice
    one's work). On a virtual machine whose two CPUs share a physical core or a busy
    host this is what any two workers could gain at most."""
    cpus = sorted(os.sched_getaffinity(0))[:2]
    if len(cpus) < 2:
        raise ValueError("the processor suite measures two workers: it needs two CPUs")
    ratios, alone, together = [], [], []
    for _ in range(pairs):
        (one,) = _spin(cpus[:1])
        both = max(_spin(cpus))
        alone.append(round(one, 3))
        together.append(round(both, 3))
        ratios.append(2 * one / both)
    return {"scaling": round(statistics.median(ratios), 3), "alone_s": alone,
            "together_s": together}  # fmt: skip


def pair_ratios(one: dict[str, Any], two: dict[str, Any]) -> list[float]:
    """One worker's wall over two workers' for each pair of batches run side by side."""
    return [round(a / b, 3) for a, b in zip(one["walls_s"], two["walls_s"], strict=True)]


def run_processor_benchmark(
    workdir: Path | None = None, lights_per_filter: int = LIGHTS_PER_FILTER, repeats: int = 3
) -> dict[str, Any]:
    """Take the night once, then calibrate copies of it with one worker and with two,
    side by side (:func:`measure_side_by_side`: ``repeats`` pairs after a warm-up batch
    each, the median kept), first as on hosts of one core each (the scale-out: a second
    host adds its own CPU), then sharing this host's CPUs (a second worker on a host
    whose first already uses every core); returns the figures."""
    frames = take_night(lights_per_filter)
    night = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
    scaling = cpu_scaling()
    with tempfile.TemporaryDirectory(prefix="bench-processor-", dir=workdir) as name:
        folder = Path(name)
        one, two = measure_side_by_side(
            frames, folder / "core-each", f"{night}-bench", True, repeats
        )
        one_shared, two_shared = measure_side_by_side(
            frames, folder / "shared", f"{night}-bench-shared", False, repeats
        )
    counts = {str(kind): sum(f.imagetyp == kind for f in frames) for kind in ImageType}
    return {
        "frames": {kind: count for kind, count in counts.items() if count},
        "filters": list(FILTERS),
        "repeats": repeats,
        "cpu_count": os.cpu_count(),
        "cpu_scaling": scaling,
        "one_worker": one,
        "two_workers": two,
        "speedup": round(one["wall_s"] / two["wall_s"], 3),
        "pair_speedups": pair_ratios(one, two),
        "bound": two_worker_bound(one),
        "one_worker_shared_host": one_shared,
        "two_workers_shared_host": two_shared,
        "speedup_shared_host": round(one_shared["wall_s"] / two_shared["wall_s"], 3),
        "pair_speedups_shared_host": pair_ratios(one_shared, two_shared),
        "bound_shared_host": two_worker_bound(one_shared),
    }


def format_processor(figures: dict[str, Any]) -> str:
    """The figures as tables: wall time and each step's span, one and two workers, on
    hosts of a core each and on this host's shared CPUs."""
    frames = ", ".join(f"{count} {kind}" for kind, count in figures["frames"].items())
    lines = [f"processor: one batch ({frames}; {figures['cpu_count']} CPUs), one worker "
             f"process against two; median of {figures['repeats']} batches each, run in "
             f"pairs side by side"]  # fmt: skip
    for title, suffix in (("a core each (as on hosts of one core)", ""),
                          ("sharing this host's CPUs", "_shared_host")):  # fmt: skip
        one, two = figures[f"one_worker{suffix}"], figures[f"two_workers{suffix}"]
        lines.append(f"  {title}")
        lines.append(f"  {'':<12}{'1 worker':>10}{'2 workers':>11}{'ratio':>8}")
        rows = [("submit->end", one["wall_s"], two["wall_s"])]
        rows += [(step, span, two["steps_s"].get(step, 0.0))
                 for step, span in one["steps_s"].items()]  # fmt: skip
        for label, a, b in rows:
            ratio = f"{a / b:7.2f}x" if b > 0 else "      -"
            lines.append(f"  {label:<12}{a:>9.2f}s{b:>10.2f}s{ratio}")
        pairs = ", ".join(f"{ratio:.2f}x" for ratio in figures[f"pair_speedups{suffix}"])
        lines.append(f"  speed-up (1 worker / 2 workers): {figures[f'speedup{suffix}']:.2f}x"
                     f" (batch by batch: {pairs})")  # fmt: skip
        bound = figures[f"bound{suffix}"]
        serial = f"{bound['serial_s']:.2f} s of {one['wall_s']:.2f} s"
        lines.append(f"  bound, with what is not split ({serial}) one worker's: "
                     f"{bound['bound']:.2f}x")  # fmt: skip
    scaling = figures["cpu_scaling"]["scaling"]
    lines.append(f"  this machine: a CPU-bound loop on two CPUs at once does {scaling:.2f}x")
    lines.append("  the work of one alone (about the most two workers of a core each gain here)")
    followers = ", ".join(f"{step} -> {then}" for step, then in FOLLOWERS.items())
    lines.append(f"  (unit by unit, {followers}: a follower's time is in its step's span)")
    return "\n".join(lines)


if __name__ == "__main__":
    results = run_processor_benchmark(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(format_processor(results))
    print(json.dumps(results, indent=2))
