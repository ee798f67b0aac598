"""``observatory bench``: every benchmark, printed as ratios measured side by side in one
run, and written as JSON.

Suites: ``calibration`` (stacking against the read bound and ccdproc, light calibration),
``overhead`` (a work order against a bare Celery task on the same Redis),
``processor`` (one night's batch calibrated by one processor worker, then by two) and
``astrometry`` (plate solving in process against solve-field, on the same frames).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
from pathlib import Path
from typing import Any

SUITES = ("calibration", "overhead", "processor", "astrometry")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("bench", help="benchmarks: ratios measured side by side, as JSON")
    add_arguments(p)
    p.set_defaults(handler=cmd_bench)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from observatory.bench import calibration

    parser.add_argument(
        "--only",
        action="append",
        choices=SUITES,
        help="run this suite only (repeatable; default: every suite)",
    )
    parser.add_argument(
        "--orders",
        type=calibration.positive_int,
        default=50,
        help="work orders per overhead measurement (50)",
    )
    parser.add_argument(
        "--http-orders",
        type=int,
        default=1000,
        help="work orders posted at once to the HTTP intake by 8 clients (1000; 0: none)",
    )
    parser.add_argument(
        "--json", type=Path, default=Path("var/bench/bench.json"), help="figures file"
    )
    calibration.add_arguments(parser)
    parser.add_argument(
        "--fields", type=int, default=6, help="sky fields per camera, astrometry suite (6)"
    )
    parser.add_argument(
        "--lights",
        type=calibration.positive_int,
        help="lights per filter in the processor suite's night (default 4: the benchmark"
        " night; more to see how two workers do on a longer night)",
    )


def run_bench(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="observatory bench", description=__doc__)
    add_arguments(parser)
    return cmd_bench(parser.parse_args(argv))


def cmd_bench(options: argparse.Namespace) -> int:
    suites = options.only or list(SUITES)
    results: dict[str, Any] = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} {platform.python_version()}",
    }
    for suite in suites:
        table, figures = _run_suite(suite, options)
        print(table, end="\n\n", flush=True)
        results[suite] = figures
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"figures written to {options.json}")
    return 0


def _run_suite(suite: str, options: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    if suite == "calibration":
        from observatory.bench import calibration

        figures = calibration.run_from_options(options)
        return calibration.format_table(figures), figures
    if suite == "astrometry":
        from observatory.bench import astrometry

        figures = astrometry.run_astrometry_benchmark(
            options.fields, options.repeats, options.workdir
        )
        return astrometry.format_table(figures), figures
    # The overhead and processor benchmarks drive Celery, so they live with the workers
    # (observatory/ never imports Celery); the CLI composes them, as it composes the publisher.
    if suite == "processor":
        from workers import bench_processor

        night = {} if options.lights is None else {"lights_per_filter": options.lights}
        figures = bench_processor.run_processor_benchmark(
            options.workdir, repeats=options.repeats, **night
        )
        return bench_processor.format_processor(figures), figures
    from workers import bench_overhead

    figures = bench_overhead.run_overhead_benchmark(
        options.orders, options.workdir, http_orders=options.http_orders
    )
    return bench_overhead.format_overhead(figures), figures
