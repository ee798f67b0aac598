"""``observatory serve-files``: this host's batches and products over HTTP, read-only."""

from __future__ import annotations

import argparse

from observatory.cli.arguments import port_number


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "serve-files", help="serve batches and products read-only over HTTP (with Range)"
    )
    p.add_argument("--host", default=None, help="address to listen on (default fileserver.host)")
    p.add_argument(
        "--port", type=port_number, default=None, help="HTTP port (default fileserver.port; 0: any)"
    )
    p.set_defaults(handler=cmd_serve_files)


def cmd_serve_files(args: argparse.Namespace) -> int:
    from observatory.fileserver import serve
    from observatory.settings import get_settings

    settings = get_settings()
    host = args.host if args.host is not None else settings.fileserver.host
    port = args.port if args.port is not None else settings.fileserver.port
    serve(host, port, settings.batches_dir, settings.products_dir)
    return 0
