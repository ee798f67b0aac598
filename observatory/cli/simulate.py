"""``observatory simulate``: serve the bundled ASCOM Alpaca simulator."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("simulate", help="serve the ASCOM Alpaca simulator of every device")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=11111, help="HTTP port (0: any free port)")
    p.add_argument("--config", type=Path, default=None, help="simulator TOML file")
    p.add_argument(
        "--time-scale",
        type=float,
        default=None,
        help="simulated seconds per real second (overrides the config)",
    )
    p.add_argument(
        "--discovery-port",
        type=int,
        default=None,
        help="UDP port of Alpaca discovery (default 32227)",
    )
    p.set_defaults(handler=cmd_simulate)


def cmd_simulate(args: argparse.Namespace) -> int:
    from observatory.simulator.server import serve

    serve(
        args.host,
        args.port,
        args.config,
        time_scale=args.time_scale,
        discovery_port=args.discovery_port,
    )
    return 0
