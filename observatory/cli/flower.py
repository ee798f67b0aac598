"""``observatory flower``: Flower, the Celery monitor, on the observatory's broker.

Flower always asks for credentials (``settings.flower.basic_auth``, ``user:password``
pairs). Without any, it starts only when ``--no-auth`` is given and it listens on
loopback, where only this machine's users reach it.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys

from observatory.cli.arguments import port_number
from observatory.errors import ConfigurationError
from observatory.settings import Settings, get_settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("flower", help="serve Flower (the Celery monitor) with basic auth")
    p.add_argument("--host", default=None, help="address to listen on (default: settings)")
    p.add_argument("--port", type=port_number, default=None, help="HTTP port (default: settings)")
    p.add_argument(
        "--url-prefix",
        default=None,
        help="path under which a reverse proxy serves Flower, e.g. flower",
    )
    p.add_argument(
        "--no-auth",
        action="store_true",
        help="allow running without credentials (loopback addresses only)",
    )
    p.set_defaults(handler=cmd_flower)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_flower_auth(settings: Settings, host: str, no_auth: bool) -> list[str]:
    """The ``user:password`` pairs Flower will require (empty only with ``no_auth``).

    Raises ConfigurationError when no credentials are configured and ``no_auth`` is not
    given, when ``no_auth`` is given for a non-loopback ``host``, or for a pair without a
    colon or with an empty user or password.
    """
    pairs = settings.flower.basic_auth
    for pair in pairs:
        user, _, password = pair.partition(":")
        if not user or not password:
            raise ConfigurationError(
                "flower.basic_auth: each entry is user:password with neither part empty"
            )
    if pairs:
        return pairs
    if not no_auth:
        raise ConfigurationError(
            "Flower needs credentials: set flower.basic_auth (OBSERVATORY_FLOWER__BASIC_AUTH="
            "user:password), or pass --no-auth on a loopback address"
        )
    if not is_loopback(host):
        raise ConfigurationError(
            f"--no-auth is allowed on a loopback address only, not {host!r}; "
            "set flower.basic_auth to listen there"
        )
    return []


def flower_command(
    settings: Settings, host: str, port: int, url_prefix: str | None, no_auth: bool
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that run Flower; see :func:`check_flower_auth`.

    Credentials travel in the environment (``FLOWER_BASIC_AUTH``), not on the command
    line, where every user of the machine could read them.
    """
    pairs = check_flower_auth(settings, host, no_auth)
    command = [
        sys.executable, "-m", "celery", "-A", "workers.app", "flower",
        f"--address={host}", f"--port={port}",
    ]  # fmt: skip
    if url_prefix:
        command.append(f"--url_prefix={url_prefix.strip('/')}")
    env = dict(os.environ)
    env.pop("FLOWER_BASIC_AUTH", None)
    env.pop("FLOWER_UNAUTHENTICATED_API", None)
    if pairs:
        env["FLOWER_BASIC_AUTH"] = ",".join(pairs)
    else:
        # Flower's JSON API refuses every call without credentials unless told otherwise.
        env["FLOWER_UNAUTHENTICATED_API"] = "true"
    return command, env


def cmd_flower(args: argparse.Namespace) -> int:
    settings = get_settings()
    host = args.host or settings.flower.host
    port = settings.flower.port if args.port is None else args.port
    command, env = flower_command(settings, host, port, args.url_prefix, args.no_auth)
    # The broker URL is not printed: it may hold a password.
    print(f"observatory flower: http://{host}:{port}/")
    sys.stdout.flush()
    # Flower replaces this process, so that signals (SIGTERM from the stack) reach it.
    os.execve(command[0], command, env)
