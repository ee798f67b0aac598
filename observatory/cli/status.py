"""``observatory status``: one work order and its steps, or the latest orders by filter,
and the held queues."""

from __future__ import annotations

import argparse
import json
from typing import Any

from observatory.db.session import read_scope
from observatory.errors import WorkOrderNotFound
from observatory.orders.hold import holds
from observatory.orders.listing import (
    OrderFilter,
    list_orders,
    one_order_with_id,
    order_as_dict,
    orders_with_id,
    parse_time,
)
from observatory.settings import Settings, get_settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("status", help="show a work order and its steps, or list orders")
    p.add_argument("id", nargs="?", help="the work order's id (omit: list the latest orders)")
    p.add_argument("--user", help="the submitting user (with an id: when several share it)")
    p.add_argument("--queue", help="with an id: the order's queue, when it names several")
    p.add_argument("--state", help="list only orders in this state (e.g. queued, running)")
    p.add_argument("--request", help="list only orders of this request (e.g. observation)")
    p.add_argument("--since", help="list only orders received at or after this ISO time")
    p.add_argument("--until", help="list only orders received before this ISO time")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--limit", type=int, default=20, help="how many orders to list")
    p.set_defaults(handler=cmd_status)


def cmd_status(args: argparse.Namespace) -> int:
    settings = get_settings()
    if args.id is None:
        result = list_orders(settings, _filter(args))
    elif args.json:
        # One order, as GET /work-orders/{id} answers it; an id naming several is refused
        # with the candidates listed (OrderAmbiguous, exit 2).
        print(json.dumps(_order_with_id(settings, args.id, args.user, args.queue), indent=2))
        return 0
    else:
        result = _orders_with_id(settings, args.id, args.user, args.queue)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    if args.id is None:
        for held in holds(settings):
            print(f"HELD: {held.describe()}")
        if not result:
            # An empty answer says so, rather than print nothing.
            print("no work orders match")
    for item in result:
        reason = item["reason"] or ""
        cancel = item["cancel"]
        if item["state"] == "running" and cancel is not None:
            # Asked to stop: say so until the worker has ended it.
            reason = f"stopping: cancel requested by {cancel['by']} {reason}".rstrip()
        print(
            f"{item['id']:<24} {item['user']:<16} {item['request']:<22} {item['state']:<10} "
            f"{reason}"
        )
        for step in item["steps"]:
            print(
                f"    {step['step']:<20} #{step['attempt']} {step['state']:<10} "
                f"{step['error'] or ''}"
            )
    return 0


def _filter(args: argparse.Namespace) -> OrderFilter:
    return OrderFilter(
        state=args.state,
        request=args.request,
        user=args.user,
        since=None if args.since is None else parse_time("since", args.since),
        until=None if args.until is None else parse_time("until", args.until),
        limit=args.limit,
    )


def _orders_with_id(
    settings: Settings, order_id: str, user: str | None, queue: str | None
) -> list[dict[str, Any]]:
    # Every order the id names (several users, or one user's orders to several queues).
    with read_scope(settings.sqlalchemy_url) as session:
        orders = orders_with_id(session, order_id, user or None, queue)
        if not orders:
            raise WorkOrderNotFound(f"no work order with id {order_id!r}")
        return [order_as_dict(o, list(o.step_runs)) for o in reversed(orders)]


def _order_with_id(
    settings: Settings, order_id: str, user: str | None, queue: str | None
) -> dict[str, Any]:
    with read_scope(settings.sqlalchemy_url) as session:
        order = one_order_with_id(session, order_id, user or None, queue, how="--user and --queue")
        return order_as_dict(order, list(order.step_runs))
