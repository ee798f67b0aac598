"""Structured log lines that carry the work-order id being worked on."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager

current_work_order: contextvars.ContextVar[str] = contextvars.ContextVar(
    "current_work_order", default="-"
)

FORMAT = "%(asctime)s %(levelname)s %(name)s [wo=%(work_order)s] %(message)s"


class WorkOrderFilter(logging.Filter):
    """Adds ``work_order`` (id/user of the order in hand, or ``-``) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.work_order = current_work_order.get()
        return True


@contextmanager
def work_order_context(label: str) -> Iterator[None]:
    """Tag every log line written inside the block with ``label``."""
    token = current_work_order.set(label)
    try:
        yield
    finally:
        current_work_order.reset(token)


def configure_logging(level: str = "INFO", logger: logging.Logger | None = None) -> None:
    """Log to stderr in the project's format (idempotent)."""
    target = logger or logging.getLogger()
    target.setLevel(level)
    if not any(isinstance(h, logging.StreamHandler) for h in target.handlers):
        target.addHandler(logging.StreamHandler())
    for handler in target.handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        if not any(isinstance(f, WorkOrderFilter) for f in handler.filters):
            handler.addFilter(WorkOrderFilter())
