"""``observatory run``: one simulated night on the embedded stack, from work orders.

See :mod:`observatory.night.runner` for what the night holds.
"""

from __future__ import annotations

import argparse
import datetime as dt

from observatory.logs import configure_logging
from observatory.night.runner import NightResult, night_settings, run_night
from observatory.settings import get_settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("run", help="run one simulated night end to end")
    p.add_argument(
        "--time-scale",
        type=float,
        default=20.0,
        help="simulated seconds per real second (default 20)",
    )
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per work order")
    p.add_argument("--no-report", action="store_true", help="do not write the night report")
    p.set_defaults(handler=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from observatory.cli.orders import submit_order  # composes the Celery publisher

    configure_logging("WARNING")
    settings = night_settings(get_settings(), args.time_scale, dt.datetime.now(dt.UTC))
    result = run_night(settings, submit_order, timeout_s=args.timeout)
    print_summary(result, settings.sqlalchemy_url)
    if not args.no_report:
        from observatory.report import build_report

        print(f"night report: {build_report(settings)}")
    return 0 if result.succeeded else 1


def print_summary(result: NightResult, database: str) -> None:
    failed = [o for o in result.outcomes if o.state != "succeeded"]
    print(
        f"\nnight summary: {len(result.outcomes)} work orders, "
        f"{len(result.outcomes) - len(failed)} succeeded, {len(failed)} not; "
        f"{result.elapsed_s:.0f} s in all"
    )
    for outcome in result.outcomes:
        reason = f" ({outcome.reason})" if outcome.reason else ""
        print(f"  {outcome.request:<22} {outcome.order_id:<34} {outcome.state}{reason}")
    if result.summary is not None:
        for line in result.summary.lines():
            print(f"  {line}")
    print(f"  records: {database}")
