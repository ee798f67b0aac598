"""``observatory simulate``: serve the bundled ASCOM Alpaca simulator."""

from __future__ import annotations

import argparse
import errno
from pathlib import Path

from observatory.cli.arguments import port_number, positive_float
from observatory.errors import ConfigurationError
from observatory.simulator.address import bind_error


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("simulate", help="serve the ASCOM Alpaca simulator of every device")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=port_number, default=11111, help="HTTP port (0: any free port)")
    p.add_argument("--config", type=Path, default=None, help="simulator TOML file")
    p.add_argument(
        "--time-scale",
        type=positive_float,
        default=None,
        help="simulated seconds per real second (overrides the config)",
    )
    p.add_argument(
        "--discovery-port",
        type=port_number,
        default=None,
        help="UDP port of Alpaca discovery (default 32227)",
    )
    p.set_defaults(handler=cmd_simulate)


def cmd_simulate(args: argparse.Namespace) -> int:
    from observatory.simulator.server import serve

    require_free_port(args.host, args.port)
    serve(
        args.host,
        args.port,
        args.config,
        time_scale=args.time_scale,
        discovery_port=args.discovery_port,
    )
    return 0


def require_free_port(host: str, port: int) -> None:
    """Raise ConfigurationError (one line) when ``host:port`` cannot be bound, before the
    server starts: in use by another program, or not an address of this machine. The
    probe binds and connects to nothing; port 0 (any free port) always passes."""
    if port == 0:
        return
    error = bind_error(host, port)
    if error is None:
        return
    if error.errno == errno.EADDRINUSE:
        raise ConfigurationError(
            f"port {port} on {host} is in use by another program; nothing was"
            " started (stop that program or give another --port)"
        )
    raise ConfigurationError(f"cannot listen on {host}:{port}: {error}")
