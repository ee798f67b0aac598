"""The ``observatory`` command."""

from __future__ import annotations

import argparse
import sys

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
from observatory.errors import ObservatoryError


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
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        # The benchmark parses its own options.
        return bench.run_bench(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except ObservatoryError as error:
        print(f"observatory {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
