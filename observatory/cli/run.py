"""``observatory run``: one simulated night on the embedded stack, from work orders.

See :mod:`observatory.night.runner` for what the night holds.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from observatory.cli.arguments import positive_float
from observatory.db.server import PostgresControl
from observatory.errors import ConfigurationError
from observatory.logs import configure_logging
from observatory.night.runner import NightResult, Submit, night_settings, run_night
from observatory.settings import Settings, get_settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("run", help="run simulated nights end to end (--chaos: with faults)")
    p.add_argument(
        "--time-scale",
        type=positive_float,
        default=20.0,
        help="simulated seconds per real second (default 20)",
    )
    p.add_argument("--timeout", type=positive_float, default=600.0, help="seconds per work order")
    p.add_argument("--no-report", action="store_true", help="do not write the night report")
    p.add_argument(
        "--nights", type=int, default=1, help="simulated nights back to back (default 1)"
    )
    p.add_argument(
        "--chaos",
        type=int,
        default=None,
        metavar="SEED",
        help="inject a seeded schedule of faults through the nights",
    )
    p.add_argument(
        "--ledger",
        type=Path,
        default=None,
        help="where the ledger's JSON goes (default data_dir/ledger.json)",
    )
    p.add_argument(
        "--postgres-data",
        type=Path,
        default=None,
        metavar="DIR",
        help="data directory of the PostgreSQL server that database_url names: with "
        "--chaos, the nights stop and start it (pg_ctl, as the directory's owner)",
    )
    p.set_defaults(handler=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from observatory.cli.orders import submit_order  # composes the Celery publisher

    configure_logging("WARNING")
    if args.nights < 1:
        raise ConfigurationError(f"--nights must be at least 1, got {args.nights}")
    if args.postgres_data is not None and args.chaos is None:
        raise ConfigurationError("--postgres-data is for the faults of --chaos SEED")
    if args.nights > 1 or args.chaos is not None:
        return run_many(args, submit_order)
    settings = night_settings(get_settings(), args.time_scale, dt.datetime.now(dt.UTC))
    result = run_night(settings, submit_order, timeout_s=args.timeout)
    print_summary(result, settings.sqlalchemy_url)
    if not args.no_report:
        from observatory.report import build_report

        print(f"night report: {build_report(settings)}")
    return 0 if result.succeeded else 1


def run_many(args: argparse.Namespace, submit: Submit) -> int:
    """``--nights N`` / ``--chaos SEED``: the nights, then the ledger (exit 1 when one of
    its must-be-zero figures is not)."""
    from observatory.chaos.nights import run_nights

    settings = get_settings()
    postgres = None
    if args.postgres_data is not None:
        postgres = postgres_control(settings, args.postgres_data)
    ledger = run_nights(settings, submit, args.nights, chaos_seed=args.chaos,
                        time_scale=args.time_scale, timeout_s=args.timeout,
                        report=not args.no_report, postgres=postgres)  # fmt: skip
    path = args.ledger or settings.data_dir / "ledger.json"
    ledger.write(path)
    print()
    print("\n".join(ledger.lines()))
    print(f"  ledger JSON: {path}")
    return 1 if ledger.problems() else 0


def postgres_control(settings: Settings, data_dir: Path) -> PostgresControl:
    """The control of the server on ``data_dir``, which must serve the settings' database.
    Raises ConfigurationError (one line) otherwise."""
    if not settings.sqlalchemy_url.startswith("postgresql"):
        raise ConfigurationError(
            "--postgres-data needs database_url to name a PostgreSQL database "
            "(OBSERVATORY_DATABASE_URL=postgresql+psycopg2://...)"
        )
    return PostgresControl.of(data_dir, settings.data_dir / "logs" / "postgres.log")


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
