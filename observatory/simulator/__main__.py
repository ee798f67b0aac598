"""``python -m observatory.simulator --host H --port P [--config F] [--time-scale X]``."""

from __future__ import annotations

import argparse
import logging
from datetime import datetime
from pathlib import Path

from observatory.simulator.server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="ASCOM Alpaca simulator of the observatory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11111, help="0 picks a free port")
    parser.add_argument("--config", type=Path, default=None, help="simulator TOML file")
    parser.add_argument("--time-scale", type=float, default=None, help="simulated s per wall s")
    parser.add_argument("--discovery-port", type=int, default=None, help="UDP discovery port")
    parser.add_argument(
        "--start-utc",
        type=datetime.fromisoformat,
        default=None,
        help="simulated civil time at the clock's epoch (ISO 8601 with a zone)",
    )
    parser.add_argument(
        "--clock-epoch",
        type=float,
        default=None,
        help="wall time (Unix seconds) at which the clock reads --start-utc (default: now)",
    )
    args = parser.parse_args(argv)
    if args.start_utc is not None and args.start_utc.tzinfo is None:
        parser.error("--start-utc needs a time zone, e.g. 2026-11-23T18:30:00+00:00")
    logging.basicConfig(level=logging.WARNING)
    serve(
        args.host,
        args.port,
        args.config,
        args.time_scale,
        args.discovery_port,
        args.start_utc,
        args.clock_epoch,
    )


if __name__ == "__main__":
    main()
