"""``python -m observatory.simulator --host H --port P [--config F] [--time-scale X]``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from observatory.simulator.server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="ASCOM Alpaca simulator of the observatory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11111, help="0 picks a free port")
    parser.add_argument("--config", type=Path, default=None, help="simulator TOML file")
    parser.add_argument("--time-scale", type=float, default=None, help="simulated s per wall s")
    parser.add_argument("--discovery-port", type=int, default=None, help="UDP discovery port")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    serve(args.host, args.port, args.config, args.time_scale, args.discovery_port)


if __name__ == "__main__":
    main()
