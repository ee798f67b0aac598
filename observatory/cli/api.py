"""``observatory api``: the HTTP intake of work orders."""

from __future__ import annotations

import argparse
import sys

from observatory.cli.arguments import port_number
from observatory.logs import configure_logging
from observatory.settings import get_settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("api", help="serve the HTTP intake of work orders")
    p.add_argument("--host", default=None, help="address to listen on (default: settings)")
    p.add_argument("--port", type=port_number, default=None, help="HTTP port (default: settings)")
    p.set_defaults(handler=cmd_api)


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    from workers.api_app import create_app  # the CLI composes the Celery publisher

    settings = get_settings()
    configure_logging(settings.log_level)
    host = args.host or settings.api.host
    port = settings.api.port if args.port is None else args.port
    if not settings.api.tokens:
        print(
            "observatory api: no tokens configured (api.tokens); every request to "
            "/work-orders is refused",
            file=sys.stderr,
        )
    print(f"observatory api: http://{host}:{port}/ (OpenAPI at /openapi.json)", flush=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level.lower())
    return 0
