"""``observatory supervise``: the safety supervisor in the foreground."""

from __future__ import annotations

import argparse
import json
import signal
import threading

from observatory.settings import get_settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "supervise", help="run the safety supervisor (closes the dome unless known safe)"
    )
    p.add_argument(
        "--once",
        action="store_true",
        help=(
            "look once and print the verdict as JSON: with a supervisor running, leave its"
            " permit and events alone and show its verdict too (but close the dome if this"
            " reading says unsafe); with none running, act as one poll of it"
        ),
    )
    p.set_defaults(handler=cmd_supervise)


def cmd_supervise(args: argparse.Namespace) -> int:
    from observatory.logs import configure_logging
    from observatory.notify import init_sentry
    from observatory.supervisor.loop import Supervisor
    from observatory.supervisor.once import look_once

    settings = get_settings()
    configure_logging(settings.log_level)
    init_sentry(settings)
    if args.once:
        print(json.dumps(look_once(settings).verdict()))
        return 0
    supervisor = Supervisor(settings)
    stop = threading.Event()

    def request_stop(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    supervisor.run(stop)
    return 0
