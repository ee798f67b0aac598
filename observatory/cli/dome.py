"""``observatory dome ...``: dome commands as work orders (or directly with --direct)."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import socket
import uuid
from typing import Any

from observatory.settings import get_settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # --direct and --timeout are taken before the subcommand and after it alike
    # (``observatory dome --direct status`` and ``observatory dome status --direct``).
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--direct",
        action="store_true",
        default=argparse.SUPPRESS,
        help="talk to the dome directly instead of through the dome queue",
    )
    options.add_argument(
        "--timeout", type=float, default=argparse.SUPPRESS, help="seconds to wait (600)"
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

    settings = get_settings()
    require_schema(settings)
    receipt = submit_order(order_for(args), settings)
    state, reason = wait_for_outcome(settings, receipt.pk, getattr(args, "timeout", 600.0))
    if state == "succeeded" and args.dome_command == "status":
        from observatory.db.models import WorkOrder
        from observatory.db.session import session_scope

        with session_scope(settings.sqlalchemy_url) as session:
            outputs = session.get_one(WorkOrder, receipt.pk).step_runs[-1].outputs
        print(json.dumps(outputs))
    else:
        print(f"{receipt.order_id}: {state}{': ' + reason if reason else ''}")
    return 0 if state == "succeeded" else 1


def _direct(args: argparse.Namespace) -> int:
    from observatory import dome_api

    if args.dome_command == "status":
        print(json.dumps(dome_api.dome_status()))
        return 0
    actions = {
        "open": dome_api.open_dome,
        "close": dome_api.close_dome,
        "park": dome_api.park_dome,
        "azimuth": lambda: dome_api.set_azimuth(args.azimuth_deg),
        "goto": lambda: dome_api.goto_alt_az(args.altitude_deg, args.azimuth_deg),
    }
    arrived = actions[args.dome_command]()
    print("arrived" if arrived else "not arrived")
    return 0 if arrived else 1
