"""Worker start-up: logging with the work-order id, and Sentry."""

from __future__ import annotations

import logging

from celery.signals import after_setup_logger, worker_process_init

from observatory.logs import configure_logging
from observatory.notify import init_sentry
from observatory.settings import get_settings


@after_setup_logger.connect
def _configure_logging(logger: logging.Logger, **_: object) -> None:
    configure_logging(get_settings().log_level, logger)


@worker_process_init.connect
def _start_sentry(**_: object) -> None:
    init_sentry(get_settings())
