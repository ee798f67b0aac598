"""``observatory cancel``, ``hold`` and ``release``: an operator's control of orders and
queues."""

from __future__ import annotations

import argparse
import getpass

from observatory.orders.cancel import CancelOutcome, cancel_order
from observatory.orders.hold import hold
from observatory.orders.operate import release_queue
from observatory.settings import get_settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("cancel", help="cancel a work order (a running one is stopped)")
    p.add_argument("id", help="the work order's id")
    p.add_argument("--user", help="the submitting user, when several share the id")
    p.add_argument("--queue", help="the order's queue, when the id names orders of several")
    p.add_argument("--by", help="who cancels (default: the login name)")
    p.add_argument("--reason", help="why, recorded with the order")
    p.set_defaults(handler=cmd_cancel)

    p = commands.add_parser("hold", help="hold a queue: nothing of it starts until released")
    p.add_argument("queue", help="dome, telescope or processor")
    p.add_argument("--by", help="who holds it (default: the login name)")
    p.add_argument("--reason", help="why, shown by status and /health")
    p.set_defaults(handler=cmd_hold)

    p = commands.add_parser("release", help="release a held queue; its waiting orders run")
    p.add_argument("queue", help="dome, telescope or processor")
    p.set_defaults(handler=cmd_release)


def cmd_cancel(args: argparse.Namespace) -> int:
    result = cancel_order(
        get_settings(),
        args.id,
        args.user,
        by=args.by or _login(),
        reason=args.reason,
        queue=args.queue,
    )
    if result.outcome is CancelOutcome.CANCELLED:
        print(f"{result.order_id}: cancelled ({result.request.describe()})")
    else:
        print(f"{result.order_id}: running; asked to stop ({result.request.describe()})")
    return 0


def cmd_hold(args: argparse.Namespace) -> int:
    held = hold(get_settings(), args.queue, by=args.by or _login(), reason=args.reason)
    print(held.describe())
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from workers.publish import publisher_for  # the CLI composes the Celery publisher

    settings = get_settings()
    published = release_queue(settings, args.queue, publisher_for(settings))
    print(f"queue {args.queue} released; {len(published)} waiting order(s) published")
    return 0


def _login() -> str:
    try:
        return getpass.getuser()
    except OSError:
        return "operator"
