"""``observatory solve FILE... [--json]``: plate-solve frames by hand, with the code the
processor runs (astrometry.net's engine in process, solve-field as the fallback)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from observatory.settings import get_settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "solve",
        help="plate-solve FITS frames: centre, scale and time per file",
        description=(
            "Plate-solve FITS frames with the hints of their headers (RA/DEC or "
            "OBJCTRA/OBJCTDEC, XPIXSZ/FOCALLEN or processor.pixel_scale_arcsec). Files are "
            "only read. Exit 0 when every file solved, 1 when some did not, 2 when none "
            "could be read."
        ),
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="FITS frames")
    p.add_argument("--json", action="store_true", help="print a JSON list of the results")
    p.set_defaults(handler=cmd_solve)


def cmd_solve(args: argparse.Namespace) -> int:
    from observatory.platesolve.files import solve_file

    settings = get_settings()
    results = []
    for path in args.files:
        result = solve_file(settings, path)
        results.append(result)
        if not args.json:
            print(format_line(result), flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
    if all("error" in result for result in results):
        return 2
    return 0 if all(result["solved"] for result in results) else 1


def format_line(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"{result['file']}: {result['error']}"
    if not result["solved"]:
        return f"{result['file']}: not solved ({result['seconds']:.2f} s)"
    return (
        f"{result['file']}: RA {result['ra_deg']:.5f} Dec {result['dec_deg']:+.5f} deg, "
        f'{result["scale_arcsec"]:.3f}"/px, {result["matched_stars"]} stars, '
        f"{result['solver']}, {result['seconds']:.2f} s"
    )
