"""Worker start-up and shutdown: logging with the work-order id, Sentry, and the liveness
beat of the worker process (observatory.supervisor.liveness)."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import after_setup_logger, worker_process_init, worker_ready, worker_shutdown

from observatory.logs import configure_logging
from observatory.notify import init_sentry
from observatory.orders.routes import QUEUES
from observatory.settings import get_settings
from observatory.supervisor.liveness import LivenessBeat

_liveness: list[LivenessBeat] = []


@after_setup_logger.connect
def _configure_logging(logger: logging.Logger, **_: object) -> None:
    configure_logging(get_settings().log_level, logger)


@worker_process_init.connect
def _start_sentry(**_: object) -> None:
    init_sentry(get_settings())


@worker_ready.connect
def _start_liveness(sender: Any, **_: object) -> None:
    # In the worker's main process, the one that consumes: it beats whether the pool is
    # idle or busy, and stops beating the moment it dies.
    queues = sorted(set(sender.app.amqp.queues.consume_from) & set(QUEUES))
    if queues and not _liveness:
        beat = LivenessBeat(get_settings(), queues)
        beat.start()
        _liveness.append(beat)


@worker_shutdown.connect
def _stop_liveness(**_: object) -> None:
    while _liveness:
        _liveness.pop().stop()
