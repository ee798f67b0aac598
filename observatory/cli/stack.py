"""``observatory up``: the stack in the foreground."""

from __future__ import annotations

import argparse

from observatory.cli.flower import check_flower_auth
from observatory.devices.inventory import device_lines
from observatory.logs import configure_logging
from observatory.settings import get_settings
from observatory.stack import Stack


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "up",
        help="run broker, simulator, workers, beat, reconciler and safety supervisor until Ctrl-C",
    )
    p.add_argument("--no-simulator", action="store_true", help="do not start the simulator")
    p.add_argument(
        "--processor-concurrency",
        type=int,
        default=None,
        help="processor worker processes (default: one per core)",
    )
    p.add_argument("--flower", action="store_true", help="also serve Flower (see `flower`)")
    p.add_argument(
        "--flower-no-auth",
        action="store_true",
        help="Flower without credentials (loopback addresses only)",
    )
    p.set_defaults(handler=cmd_up)


def cmd_up(args: argparse.Namespace) -> int:
    settings = get_settings()
    configure_logging(settings.log_level)
    if args.no_simulator:
        settings = settings.model_copy(
            update={"simulator": settings.simulator.model_copy(update={"enabled": False})}
        )
    if args.flower:
        # Refuse before anything starts rather than when the Flower child exits.
        check_flower_auth(settings, settings.flower.host, args.flower_no_auth)
    stack = Stack(
        settings,
        processor_concurrency=args.processor_concurrency,
        with_flower=args.flower,
        flower_no_auth=args.flower_no_auth,
    )
    try:
        stack.start()
    except BaseException:
        stack.stop()
        raise
    print(
        f"observatory up: broker {settings.effective_broker_url}, "
        f"database {settings.sqlalchemy_url}; logs in {settings.data_dir / 'logs'}; "
        "Ctrl-C stops",
        flush=True,
    )
    # The operator sees which devices the queues will drive, and which the site lacks.
    print(f"devices: {'; '.join(device_lines(settings.devices))}", flush=True)
    stack.run_forever()
    return 0
