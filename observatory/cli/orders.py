"""``observatory submit`` (``status`` is in :mod:`observatory.cli.status`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from observatory.cli.arguments import positive_float
from observatory.db.models import WorkOrder
from observatory.db.session import read_scope
from observatory.errors import ConfigurationError, WorkOrderInvalid
from observatory.intake import OrderIdTaken, Receipt, submit
from observatory.orders.states import FINAL_STATES
from observatory.orders.validation import MAX_ORDER_BYTES
from observatory.settings import Settings, get_settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("submit", help="validate, store and enqueue a work order")
    p.add_argument("file", help="a JSON file with one work order, or - for standard input")
    p.add_argument("--wait", action="store_true", help="wait for the outcome and print it")
    p.add_argument("--timeout", type=positive_float, default=3600.0, help="seconds --wait waits")
    p.set_defaults(handler=cmd_submit)


def submit_order(data: Any, settings: Settings | None = None) -> Receipt:
    """Validate, store and publish a work order: the Python entry point for other programs."""
    from workers.publish import publisher_for  # the CLI composes the Celery publisher

    settings = settings or get_settings()
    return submit(settings, data, publisher_for(settings))


def read_order_text(file: str) -> str:
    """The text of the work order in ``file`` (``-``: standard input).

    Raises WorkOrderInvalid, in one line, when it cannot be read, is over
    ``MAX_ORDER_BYTES`` (the HTTP intake's limit; not read beyond it), is not UTF-8 or is
    empty.
    """
    where = "standard input" if file == "-" else file
    too_large = WorkOrderInvalid(f"{where}: a work order is at most {MAX_ORDER_BYTES} bytes")
    try:
        if file == "-":
            source = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else sys.stdin
            raw = source.read(MAX_ORDER_BYTES + 1)
        else:
            with open(file, "rb") as opened:
                if os.fstat(opened.fileno()).st_size > MAX_ORDER_BYTES:
                    raise too_large
                raw = opened.read(MAX_ORDER_BYTES + 1)  # a file growing meanwhile
    except IsADirectoryError:
        raise WorkOrderInvalid(f"{where} is a directory, not a file") from None
    except OSError as error:
        raise WorkOrderInvalid(f"cannot read {where}: {error.strerror or error}") from None
    if len(raw) > MAX_ORDER_BYTES:
        raise too_large
    if isinstance(raw, str):
        text = raw
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise WorkOrderInvalid(
                f"{where} is not UTF-8 text (byte {error.start}); save it as UTF-8"
            ) from None
    if not text.strip():
        raise WorkOrderInvalid(f"{where} is empty")
    return text


def require_schema(settings: Settings) -> None:
    """Raise ConfigurationError when the database has never been migrated (a fresh data
    folder before ``observatory up`` or ``observatory db upgrade``)."""
    from observatory.db.migrate import current_revision

    if current_revision(settings.sqlalchemy_url) is None:
        raise ConfigurationError(
            f"the database {settings.sqlalchemy_url} has no tables yet; run"
            " `observatory db upgrade` (or start the stack with `observatory up`)"
        )


def cmd_submit(args: argparse.Namespace) -> int:
    try:
        text = read_order_text(args.file)
    except WorkOrderInvalid as error:
        print(f"invalid work order: {error}", file=sys.stderr)
        return 2
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        print(f"invalid work order: not valid JSON: {error}", file=sys.stderr)
        return 2
    require_schema(get_settings())
    try:
        receipt = submit_order(data)
    except OrderIdTaken as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2
    except WorkOrderInvalid as error:
        print(f"invalid work order: {error}", file=sys.stderr)
        return 2
    print(receipt.order_id)
    if not receipt.created:
        print(f"note: {receipt.message}", file=sys.stderr)
    elif receipt.waiting:
        print(f"note: stored; not published yet on purpose: {receipt.message}", file=sys.stderr)
    elif not receipt.published:
        print(
            f"note: stored; it is published when the broker answers ({receipt.message})",
            file=sys.stderr,
        )
    if not args.wait:
        return 0
    state, reason = wait_for_outcome(get_settings(), receipt.pk, args.timeout)
    print(f"{state}{': ' + reason if reason else ''}")
    return 0 if state == "succeeded" else 1


def wait_for_outcome(settings: Settings, pk: int, timeout_s: float) -> tuple[str, str | None]:
    """Poll the database until the order ends; returns (state, reason)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with read_scope(settings.sqlalchemy_url) as session:
            order = session.get_one(WorkOrder, pk)
            if order.state in FINAL_STATES:
                return str(order.state), order.state_reason
            state = str(order.state)
        if time.monotonic() > deadline:
            return state, f"still {state} after {timeout_s:.0f} s"
        time.sleep(0.2)
