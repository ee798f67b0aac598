"""``observatory bench``: benchmarks printed as ratios measured side by side in one run."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "bench",
        help="calibration benchmark: stacking against the read bound and ccdproc",
        add_help=False,
    )
    p.set_defaults(handler=lambda _: run_bench([]))


def run_bench(argv: list[str]) -> int:
    """Hand every option to the benchmark's own parser (``observatory bench --help``)."""
    from observatory.bench.calibration import main

    return main(argv)
