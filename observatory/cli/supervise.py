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
        "--once", action="store_true", help="poll once, print the verdict as JSON and exit"
    )
    p.set_defaults(handler=cmd_supervise)


def cmd_supervise(args: argparse.Namespace) -> int:
    from observatory.logs import configure_logging
    from observatory.notify import init_sentry
    from observatory.supervisor.loop import Supervisor

    settings = get_settings()
    configure_logging(settings.log_level)
    init_sentry(settings)
    supervisor = Supervisor(settings)
    if args.once:
        decision = supervisor.poll_once()
        verdict = {
            "opening_allowed": decision.opening_allowed,
            "reason": decision.opening_reason,
            "close_reasons": list(decision.close_reasons),
        }
        print(json.dumps(verdict))
        return 0
    stop = threading.Event()

    def request_stop(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    supervisor.run(stop)
    return 0
