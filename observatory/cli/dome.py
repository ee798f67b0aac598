"""``observatory dome ...``: dome commands as work orders (or directly with --direct)."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import socket
import uuid
from typing import Any

from observatory.cli.arguments import positive_float
from observatory.settings import Settings, get_settings

# The commands that turn the dome: refused, queued or direct, while a telescope order keeps
# the slit on the mount.
TURNS = frozenset({"park", "azimuth", "goto"})
# Who a timed-out command's cancel is recorded as.
CANCELLED_BY = "observatory dome"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # --direct and --timeout are taken before the subcommand and after it alike
    # (``observatory dome --direct status`` and ``observatory dome status --direct``).
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--direct",
        action="store_true",
        default=argparse.SUPPRESS,
        help="talk to the dome directly, without the dome queue, but not without the safety"
        " rules: open asks the safety supervisor's permit, and park, azimuth and goto are"
        " refused while a telescope order keeps the slit on the mount (close and status"
        " never are)",
    )
    options.add_argument(
        "--timeout",
        type=positive_float,
        default=argparse.SUPPRESS,
        help="seconds to wait (600); an order not started by then is cancelled",
    )
    p = commands.add_parser("dome", help="dome status and commands", parents=[options])
    sub = p.add_subparsers(dest="dome_command", required=True)
    sub.add_parser("status", help="azimuth, shutter, park", parents=[options])
    sub.add_parser("open", help="open the shutter", parents=[options])
    sub.add_parser("close", help="close the shutter", parents=[options])
    sub.add_parser("park", help="park the dome", parents=[options])
    az = sub.add_parser("azimuth", help="turn the dome to an azimuth (degrees)", parents=[options])
    az.add_argument("azimuth_deg", type=float)
    goto = sub.add_parser(
        "goto", help="point the slit at an altitude and azimuth (degrees)", parents=[options]
    )
    goto.add_argument("altitude_deg", type=float)
    goto.add_argument("azimuth_deg", type=float)
    p.set_defaults(handler=cmd_dome)


def order_for(args: argparse.Namespace) -> dict[str, Any]:
    """The work order a dome command stands for."""
    order: dict[str, Any] = {
        "id": f"cli-{uuid.uuid4().hex[:12]}",
        "request": f"dome_{args.dome_command}",
        "datetime": dt.datetime.now(dt.UTC).isoformat(),
        "user": f"{getpass.getuser()}@{socket.gethostname()}",
    }
    if args.dome_command == "azimuth":
        order.update(request="dome_set_azimuth", azimuth_deg=args.azimuth_deg)
    elif args.dome_command == "goto":
        order.update(altitude_deg=args.altitude_deg, azimuth_deg=args.azimuth_deg)
    return order


def cmd_dome(args: argparse.Namespace) -> int:
    # The options are shared by the dome parser and its subcommands, so they carry no
    # defaults of their own (a subcommand's default would undo the option given before it).
    if getattr(args, "direct", False):
        return _direct(args)
    from observatory.cli.orders import require_schema, submit_order, wait_for_outcome
    from observatory.orders.states import FINAL_STATES

    settings = get_settings()
    require_schema(settings)
    receipt = submit_order(order_for(args), settings)
    timeout_s = getattr(args, "timeout", 600.0)
    state, reason = wait_for_outcome(settings, receipt.pk, timeout_s)
    if state not in FINAL_STATES:
        print(f"{receipt.order_id}: {give_up(settings, receipt.pk, receipt.order_id, timeout_s)}")
        return 1
    if state == "succeeded" and args.dome_command == "status":
        from observatory.db.models import WorkOrder
        from observatory.db.session import read_scope

        with read_scope(settings.sqlalchemy_url) as session:
            outputs = session.get_one(WorkOrder, receipt.pk).step_runs[-1].outputs
        print(json.dumps(outputs))
    else:
        print(f"{receipt.order_id}: {state}{': ' + reason if reason else ''}")
    return 0 if state == "succeeded" else 1


def give_up(settings: Settings, pk: int, order_id: str, timeout_s: float) -> str:
    """After the wait ran out: cancel the order if it has not started (a command typed now
    must not run whenever the stack next starts, such as an opening hours later); one that
    started is left to finish. Returns what happened, in words."""
    from observatory.db.models import WorkOrder
    from observatory.db.session import read_scope
    from observatory.orders.cancel import cancel_unstarted

    reason = f"not started within {timeout_s:g} s (the command's --timeout)"
    if cancel_unstarted(settings, pk, by=CANCELLED_BY, reason=reason):
        return f"not started within {timeout_s:g} s: cancelled"
    # Claimed (or even ended) since the wait ran out: no cancel request is left on it.
    with read_scope(settings.sqlalchemy_url) as session:
        state = str(session.get_one(WorkOrder, pk).state)
    if state == "running":
        return (
            f"running after {timeout_s:g} s: left to finish"
            f" (follow it with `observatory status {order_id}`)"
        )
    return f"{state}, having started only after the {timeout_s:g} s wait"


def _direct(args: argparse.Namespace) -> int:
    """Send the command to the dome now, without the queue; the queued orders' safety
    rules first (:func:`require_direct_allowed`)."""
    from observatory import dome_api

    settings = get_settings()
    if args.dome_command == "status":
        print(json.dumps(dome_api.dome_status(settings=settings.devices)))
        return 0
    require_direct_allowed(settings, args.dome_command)
    devices = settings.devices
    actions = {
        "open": lambda: dome_api.open_dome(settings=devices),
        "close": lambda: dome_api.close_dome(settings=devices),
        "park": lambda: dome_api.park_dome(settings=devices),
        "azimuth": lambda: dome_api.set_azimuth(args.azimuth_deg, settings=devices),
        "goto": lambda: dome_api.goto_alt_az(args.altitude_deg, args.azimuth_deg, settings=devices),
    }
    arrived = actions[args.dome_command]()
    print("arrived" if arrived else "not arrived")
    return 0 if arrived else 1


def require_direct_allowed(settings: Settings, command: str) -> None:
    """The rules the dome worker applies to the same command, before anything is sent:
    opening asks the safety supervisor's permit (UnsafeConditions), turning is refused
    while a telescope order keeps the slit on the mount (DomeSlaved). Closing is never
    refused. Both read SQL."""
    if command == "open":
        from observatory.supervisor.permit import require_opening_allowed

        require_opening_allowed(settings)
    elif command in TURNS:
        from observatory.telescope.heartbeat import require_dome_not_slaved

        require_dome_not_slaved(settings)
