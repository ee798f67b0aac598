"""The ``observatory`` command."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError

from observatory import __version__
from observatory.cli import (
    api,
    bench,
    control,
    db,
    dome,
    flower,
    orders,
    report,
    run,
    serve_files,
    simulate,
    solve,
    stack,
    status,
    supervise,
)
from observatory.errors import ConfigurationError, ObservatoryError
from observatory.settings import get_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="observatory", description="Run and drive a robotic observatory through work orders."
    )
    parser.add_argument("--version", action="version", version=f"observatory {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (
        run,
        stack,
        orders,
        status,
        control,
        dome,
        simulate,
        db,
        bench,
        api,
        flower,
        serve_files,
        supervise,
        report,
        solve,
    ):
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; an ObservatoryError (bad input, configuration) is one line and
    exit 2."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        # The benchmark parses its own options.
        return bench.run_bench(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = _handle(args)
    except ObservatoryError as error:
        print(f"observatory {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


def _handle(args: argparse.Namespace) -> int:
    try:
        code: int = args.handler(args)
    except DBAPIError as error:
        # On a data folder whose database was never migrated every command meets missing
        # tables, and on a database that does not answer every command fails to connect:
        # both are said in one line (ConfigurationError); other errors go on.
        _require_database(error)
        raise
    return code


def _require_database(error: DBAPIError) -> None:
    """Raise ConfigurationError when the database does not answer (naming its URL without
    the password and the connection error) or has no tables yet; return otherwise."""
    settings = get_settings()
    try:
        orders.require_schema(settings)
    except DBAPIError as again:
        url = make_url(settings.sqlalchemy_url).render_as_string(hide_password=True)
        reason = str(again.orig or again).strip().splitlines()[0]
        raise ConfigurationError(f"the database {url} cannot be reached: {reason}") from error


if __name__ == "__main__":
    sys.exit(main())
