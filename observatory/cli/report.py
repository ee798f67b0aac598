"""``observatory report [NIGHT]``: write a night's HTML report and print its path."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from observatory.errors import ConfigurationError
from observatory.settings import get_settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "report",
        help="write a night's HTML report (frames, timeline, orders, failures)",
        description=(
            "Write the HTML report of a night: the 24 h from local mean solar noon at "
            "the site (site.longitude_deg) on the evening's date there (west of Greenwich "
            "the evening may fall on the next UTC date). The page and its "
            "PNG pictures go to DATA_DIR/reports/NIGHT/ unless --output is given; the "
            "path of index.html is printed."
        ),
    )
    p.add_argument(
        "night",
        nargs="?",
        type=night_date,
        metavar="NIGHT",
        help=(
            "the evening's date at the site (local mean solar time), YYYY-MM-DD, as in "
            "batch names (default: the night of the latest work order)"
        ),
    )
    p.add_argument("--output", type=Path, metavar="DIR", help="write the report into DIR")
    p.set_defaults(handler=cmd_report)


def night_date(text: str) -> dt.date:
    """A NIGHT argument: the evening's date at the site as YYYY-MM-DD
    (:func:`observatory.clock.night_of`)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def cmd_report(args: argparse.Namespace) -> int:
    # Imported here: matplotlib and astropy are slow to load for the other commands.
    from observatory.report import write_report

    if args.output is not None:
        try:
            args.output.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigurationError(
                f"--output {args.output}: the folder cannot be made: {error.strerror}"
            ) from error
    written = write_report(get_settings(), args.night, args.output)
    print(written.index_path)
    print(
        f"night {written.night}: {written.pictures} pictures, {written.problems} unreadable "
        f"products, {written.seconds:.2f} s",
        file=sys.stderr,
    )
    return 0
