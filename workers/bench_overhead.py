"""Work-order overhead benchmark: a dome status read as a work order against the same
read as a bare Celery task, on the same Redis, worker and simulator, in one run.

A work order adds what makes it trustworthy: the SQL rows written on receipt, the claim,
the step run and the finish. This measures what that costs:

- latency: submit (or ``send_task``) to start, one at a time, median of ``count``;
- throughput: ``count`` sent at once, first send to last end, in orders per second
  (the median of three such bursts);
- HTTP intake: ``http_orders`` posted at once to ``observatory api`` by ``http_clients``
  clients; the rate at which they were stored and published, and a check that none was
  lost: each is stored, published, and either a message in the broker or started.

The stack is private to the run: an embedded Redis on a free port, SQLite in a temporary
folder, the bundled simulator and one dome worker (``workers.bench_app``, which also knows
the bare task). The two paths alternate, one by one and then burst by burst
(:func:`measure_interleaved`), so that other work on a shared machine loads both alike.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import redis
import requests
from celery import Celery
from sqlalchemy import Engine, create_engine, func, select

from observatory.db.migrate import upgrade
from observatory.db.models import WorkOrder
from observatory.db.session import dispose_engines, read_scope
from observatory.embedded_redis import EmbeddedRedis
from observatory.orders.states import FINAL_STATES
from observatory.settings import Settings, get_settings
from observatory.simulator.server import start_simulator_process
from tasks.bench import BARE_TIMES_KEY


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def private_stack(folder: Path) -> Iterator[Settings]:
    """Redis, SQLite, the simulator and one dome worker, all stopped on exit."""
    port = free_port()
    redis_server = EmbeddedRedis(folder, port)
    redis_server.start()
    simulator = start_simulator_process(host="127.0.0.1", port=0, time_scale=20.0)
    env = {
        "OBSERVATORY_DATA_DIR": str(folder),
        "OBSERVATORY_BROKER_URL": redis_server.url,
        "OBSERVATORY_EMBEDDED_REDIS_PORT": str(port),
        "OBSERVATORY_LOG_LEVEL": "WARNING",
        **{
            f"OBSERVATORY_DEVICES__{role}_ADDRESS": simulator.address
            for role in ("DOME", "SAFETYMONITOR")
        },
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    os.environ.pop("OBSERVATORY_DATABASE_URL", None)
    get_settings.cache_clear()
    settings = get_settings()
    upgrade(settings.sqlalchemy_url)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers.bench_app", "worker", "-Q", "dome",
         "-c", "1", "-n", f"bench-{port}@%h", "--loglevel", "WARNING", "--without-gossip",
         "--without-mingle", "--without-heartbeat"],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "worker.log", "wb"),  # noqa: SIM115 (closed with the process)
        start_new_session=True,
    )  # fmt: skip
    try:
        yield settings
    finally:
        _stop(worker)
        simulator.stop()
        redis_server.stop()
        dispose_engines(settings.sqlalchemy_url)
        watcher = _watchers.pop(settings.sqlalchemy_url, None)
        if watcher is not None:
            watcher.dispose()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


# How often the end of a burst is looked for. The figures come from the recorded start and
# end times, not from when the poll saw them, so a slow poll loses nothing; a fast one
# would take CPU from the worker being measured (more for SQL than for Redis).
BURST_POLL_S = 0.05


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process this run started (its own session): SIGTERM, then after 30 s its whole
    group killed, so that a hung worker neither hides the error that ended the run nor
    keeps the rest of the stack from being stopped."""
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def _wait(
    predicate: Callable[[], bool], timeout_s: float, what: str, poll_s: float = 0.005
) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"benchmark: {what} did not happen within {timeout_s:.0f} s")
        time.sleep(poll_s)


def _order(run: str, index: int) -> dict[str, Any]:
    return {
        "id": f"bench-{run}-{index}",
        "request": "dome_status",
        "datetime": dt.datetime.now(dt.UTC).isoformat(),
        "user": "bench",
    }


def _work_order_times(settings: Settings, pks: list[int]) -> list[WorkOrder]:
    with read_scope(settings.sqlalchemy_url) as session:
        rows = list(session.scalars(select(WorkOrder).where(WorkOrder.pk.in_(pks))))
        session.expunge_all()
        return rows


_watchers: dict[str, Engine] = {}


def _orders_done(settings: Settings, pks: list[int]) -> bool:
    """Whether every order ended, read as an onlooker would: a plain reader outside the
    project's sessions, which on SQLite take the write lock (BEGIN IMMEDIATE) and, polled
    this often, would hold up the worker being measured."""
    url = settings.sqlalchemy_url
    if url not in _watchers:
        _watchers[url] = create_engine(url)
    with _watchers[url].connect() as connection:
        running = connection.scalar(
            select(func.count()).where(
                WorkOrder.pk.in_(pks), WorkOrder.state.not_in(list(FINAL_STATES))
            )
        )
    return running == 0


def measure_work_orders(settings: Settings, count: int, *, at_once: bool) -> dict[str, float]:
    """Submit ``count`` dome_status orders; latency (s) to start and throughput (1/s)."""
    from workers.publish import app_for

    celery_app = app_for(settings)
    try:
        latencies, span_s = _run_work_orders(settings, celery_app, count, at_once=at_once)
    finally:
        celery_app.close()
    return _summary(latencies, count, span_s)


def _run_work_orders(
    settings: Settings, celery_app: Celery, count: int, *, at_once: bool
) -> tuple[list[float], float]:
    """Submit ``count`` dome_status orders through ``celery_app``; each one's latency (s)
    to start, and the span (s) from the first submission to the last end."""
    from observatory.intake import submit
    from workers.publish import publisher

    publish = publisher(celery_app)
    run = uuid.uuid4().hex[:8]
    latencies, pks, sent = [], [], []
    for index in range(count):
        sent.append(time.time())
        pk = submit(settings, _order(run, index), publish).pk
        pks.append(pk)
        if not at_once:
            _wait(partial(_orders_done, settings, [pk]), 60, f"work order {pk}")
    _wait(lambda: _orders_done(settings, pks), 120 + count, "every work order", BURST_POLL_S)
    rows = sorted(_work_order_times(settings, pks), key=lambda row: row.pk)
    failed = [row for row in rows if row.state != "succeeded"]
    if failed:
        raise RuntimeError(f"benchmark orders failed: {failed[0]!r} {failed[0].state_reason}")
    for row, sent_at in zip(rows, sent, strict=True):
        assert row.started_at is not None
        latencies.append(row.started_at.timestamp() - sent_at)
    last_end = max(row.finished_at.timestamp() for row in rows if row.finished_at)
    return latencies, last_end - sent[0]


def measure_bare_tasks(settings: Settings, count: int, *, at_once: bool) -> dict[str, float]:
    """Send ``count`` bare status tasks; latency (s) to start and throughput (1/s)."""
    from workers.publish import app_for

    celery_app = app_for(settings)
    try:
        latencies, span_s = _run_bare_tasks(settings, celery_app, count, at_once=at_once)
    finally:
        celery_app.close()
    return _summary(latencies, count, span_s)


def _run_bare_tasks(
    settings: Settings, app: Celery, count: int, *, at_once: bool
) -> tuple[list[float], float]:
    """Send ``count`` bare status tasks through ``app``; as :func:`_run_work_orders`."""
    client = redis.Redis.from_url(settings.effective_broker_url)
    client.delete(BARE_TIMES_KEY)
    first_sent = time.time()
    for index in range(count):
        app.send_task("observatory.dome.bare_status", args=[time.time()], queue="dome")
        if not at_once:
            _wait(partial(_at_least, client, index + 1), 60, "a bare task")
    _wait(partial(_at_least, client, count), 120 + count, "every bare task", BURST_POLL_S)
    client.close()
    records = [json.loads(item) for item in client.lrange(BARE_TIMES_KEY, 0, -1)]
    latencies = [record["started"] - record["sent"] for record in records]
    return latencies, max(r["ended"] for r in records) - first_sent


def measure_interleaved(
    settings: Settings, count: int, *, at_once: bool, rounds: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Bare tasks and work orders in alternate rounds, through one connection to the
    broker, so that both see the same load on a shared machine; returns the bare and the
    work-order summaries.

    One at a time: ``count`` of each in all, split over the rounds, latencies pooled.
    All at once: ``count`` of each per round; the throughput is the median round's."""
    from workers.publish import app_for

    per_round = count if at_once else max(1, count // rounds)
    bare: tuple[list[float], list[float]] = ([], [])
    orders: tuple[list[float], list[float]] = ([], [])
    celery_app = app_for(settings)
    try:
        for _ in range(rounds):
            for runner, pooled in ((_run_bare_tasks, bare), (_run_work_orders, orders)):
                latencies, span_s = runner(settings, celery_app, per_round, at_once=at_once)
                pooled[0].extend(latencies)
                pooled[1].append(per_round / span_s)
    finally:
        celery_app.close()
    return _pooled(*bare), _pooled(*orders)


def _pooled(latencies: list[float], rates: list[float]) -> dict[str, float]:
    many = len(latencies) >= 2
    return {
        "latency_median_s": statistics.median(latencies),
        "latency_p90_s": statistics.quantiles(latencies, n=10)[-1] if many else latencies[0],
        "per_second": statistics.median(rates),
    }


def _at_least(client: redis.Redis, count: int) -> bool:
    return int(client.llen(BARE_TIMES_KEY)) >= count


def _summary(latencies: list[float], count: int, span_s: float) -> dict[str, float]:
    return {
        "latency_median_s": statistics.median(latencies),
        "latency_p90_s": statistics.quantiles(latencies, n=10)[-1] if count >= 2 else latencies[0],
        "per_second": count / span_s,
    }


HTTP_TOKEN = "bench-" + uuid.uuid4().hex


@contextmanager
def http_intake(settings: Settings, folder: Path) -> Iterator[str]:
    """``observatory api`` on a free port of this stack; yields its base URL."""
    port = free_port()
    env = {**os.environ, "OBSERVATORY_API__TOKENS": HTTP_TOKEN}
    api = subprocess.Popen(
        [sys.executable, "-m", "observatory.cli.main", "api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "api.log", "wb"),  # noqa: SIM115 (closed with the process)
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(partial(_answers, base), 60, "the HTTP intake to answer")
        yield base
    finally:
        _stop(api)


def _answers(base: str) -> bool:
    try:
        return requests.get(f"{base}/health", timeout=2).status_code < 500
    except requests.ConnectionError:
        return False


def measure_http_burst(
    settings: Settings, base: str, count: int, clients: int
) -> dict[str, float | int]:
    """Post ``count`` dome_status orders at once from ``clients`` threads; the rate at which
    the intake stored and published them, and how many were lost (not stored, not
    published, or not run to the end). Raises RuntimeError when any request failed."""
    run = uuid.uuid4().hex[:8]
    headers = {"Authorization": f"Bearer {HTTP_TOKEN}"}

    def post_share(client: int) -> list[dict[str, Any]]:
        with requests.Session() as session:
            return [
                session.post(
                    f"{base}/work-orders", json=_order(run, index), headers=headers, timeout=60
                ).json()
                for index in range(client, count, clients)
            ]

    began = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        receipts = [r for share in pool.map(post_share, range(clients)) for r in share]
    span_s = time.monotonic() - began
    refused = [r for r in receipts if "pk" not in r]
    if refused:
        raise RuntimeError(f"benchmark: {len(refused)} orders refused, e.g. {refused[0]}")
    pks = {int(r["pk"]) for r in receipts}
    # Every order is either still a message in the broker or already taken by the worker
    # (SQL says it started): read the broker first, so that none is missed in between.
    in_broker = _pks_in_broker(settings, "dome")
    with read_scope(settings.sqlalchemy_url) as session:
        rows = session.execute(
            select(WorkOrder.pk, WorkOrder.published_at, WorkOrder.started_at).where(
                WorkOrder.order_id.like(f"bench-{run}-%")
            )
        ).all()
    published = {pk for pk, published_at, _ in rows if published_at is not None}
    started = {pk for pk, _, started_at in rows if started_at is not None}
    return {
        "orders": count,
        "clients": clients,
        "stored": len(rows),
        "published_receipts": sum(bool(r["published"]) for r in receipts),
        "lost": len(pks - (published & (in_broker | started))),
        "per_second": count / span_s,
    }


def _pks_in_broker(settings: Settings, queue: str) -> set[int]:
    """Work-order pks of the messages waiting in ``queue`` (each Redis priority list) or
    delivered and not yet acknowledged."""
    client = redis.Redis.from_url(settings.effective_broker_url)
    raw = []
    for key in [queue, *(f"{queue}:{level}" for level in range(1, 10))]:
        raw += client.lrange(key, 0, -1)
    raw += [json.dumps(json.loads(value)[0]) for value in client.hvals("unacked")]
    pks = set()
    for message in raw:
        envelope = json.loads(message)
        args, _, _ = json.loads(base64.b64decode(envelope["body"]))
        if args:
            pks.add(int(args[0]))
    client.close()
    return pks


# Bursts of each path, alternating (see measure_interleaved).
BURST_ROUNDS = 3


def run_overhead_benchmark(
    count: int = 50, workdir: Path | None = None, http_orders: int = 1000, http_clients: int = 8
) -> dict[str, Any]:
    """Both paths measured on one private stack, bare first to warm the worker; then the
    HTTP burst (none when ``http_orders`` is 0)."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-overhead-", dir=workdir) as folder,
        private_stack(Path(folder)) as settings,
    ):
        # Warm-up: connections, the dome adapter, SQLite pages.
        measure_bare_tasks(settings, 3, at_once=False)
        measure_work_orders(settings, 3, at_once=False)
        # One at a time, bare and work order alternate one by one.
        bare_serial, order_serial = measure_interleaved(
            settings, count, at_once=False, rounds=count
        )
        bare_burst, order_burst = measure_interleaved(
            settings, count, at_once=True, rounds=BURST_ROUNDS
        )
        http_burst: dict[str, float | int] = {}
        if http_orders:
            with http_intake(settings, Path(folder)) as base:
                http_burst = measure_http_burst(settings, base, http_orders, http_clients)
    return {
        "count": count,
        "bare_latency_median_s": bare_serial["latency_median_s"],
        "work_order_latency_median_s": order_serial["latency_median_s"],
        "bare_per_second": bare_burst["per_second"],
        "work_order_per_second": order_burst["per_second"],
        "latency_ratio": order_serial["latency_median_s"] / bare_serial["latency_median_s"],
        "throughput_ratio": bare_burst["per_second"] / order_burst["per_second"],
        "throughput_fraction": order_burst["per_second"] / bare_burst["per_second"],
        "http_burst": http_burst,
        "details": {
            "bare_serial": bare_serial,
            "work_order_serial": order_serial,
            "bare_burst": bare_burst,
            "work_order_burst": order_burst,
        },
    }


def format_overhead(results: dict[str, Any]) -> str:
    r = results
    order_ms, bare_ms = r["work_order_latency_median_s"] * 1e3, r["bare_latency_median_s"] * 1e3
    return "\n".join(
        [
            f"work-order overhead ({r['count']} dome status reads, one dome worker, same Redis)",
            f"  submit to start, median  work order {order_ms:7.1f} ms  bare task {bare_ms:7.1f} ms"
            f"  ratio {r['latency_ratio']:.2f}x",
            f"  throughput, all at once  work order {r['work_order_per_second']:7.1f} /s"
            f"  bare task {r['bare_per_second']:7.1f} /s  {r['throughput_ratio']:.2f}x slower"
            f" ({r['throughput_fraction']:.2f}x the bare rate)",
            *_http_line(r["http_burst"]),
        ]
    )


def _http_line(http: dict[str, Any]) -> list[str]:
    if not http:
        return []
    return [
        f"  HTTP intake, {http['orders']} orders at once by {http['clients']} clients:"
        f" {http['per_second']:.1f} stored and published /s,"
        f" {http['published_receipts']} published receipts, {http['lost']} lost"
    ]


if __name__ == "__main__":
    figures = run_overhead_benchmark(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
    print(format_overhead(figures))
